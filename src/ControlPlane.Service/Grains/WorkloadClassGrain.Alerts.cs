using ControlPlane.Service.Alerting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Grains;

// The class's alerts (docs/alerts.md): evaluated at every evaluation period, persisted with the grain's state
// (etag-checked) before their notices are published; an activation republishes what a previous one wrote but may not
// have published.
internal sealed partial class WorkloadClassGrain : IClassAlertsGrain
{
    private readonly ClassAlertRules _alertRules = new();
    private AlertBook? _alertBook;

    public Task<IReadOnlyList<AlertNotice>> GetAlertsAsync() =>
        Task.FromResult<IReadOnlyList<AlertNotice>>([.. Alerts.View(AlertTargetNow(), _ => true)]);

    private AlertBook Alerts => _alertBook ??= new AlertBook(State.Alerts ??= new AlertBookState());

    private AlertTarget AlertTargetNow() => ClassAlertRules.Target(catalog.Classes[this.GetPrimaryKeyString()]);

    private async Task ResumeAlertsAsync()
    {
        if (!_alertRules.Restore(State.Alerts?.Counts))
        {
            logger.LogWarning("Class {Class}: the persisted alert counts could not be read in full.", this.GetPrimaryKeyString());
        }

        ServiceProvider.GetRequiredService<AlertGauge>().Update(Alerts.Records);
        await PublishNoticesAsync(Alerts.Unpublished(AlertTargetNow()));
    }

    private void ExportAlertCounts() => (State.Alerts ??= new AlertBookState()).Counts = _alertRules.Export();

    private void ForgetAlertGauge() => ServiceProvider.GetService<AlertGauge>()?.Remove(Alerts.Records);

    // The SLO burn-rate and spend alerts join the state machine under their names; the fallback-activation rule
    // replaces the SLO's fallback-activation-{5,30}m alerts.
    private async Task EvaluateAlertRulesAsync(DateTimeOffset now, IEnumerable<Domain.Slo.HealthAlert> existing)
    {
        var definition = catalog.Classes[this.GetPrimaryKeyString()];
        var notices = Alerts.Evaluate(now, _alertRules.Evaluate(now, definition,
            existing.Where(a => !a.Name.StartsWith("fallback-activation-", StringComparison.Ordinal))), ClassAlertRules.Target(definition));
        ServiceProvider.GetRequiredService<AlertGauge>().Update(Alerts.Records);
        if (notices.Count == 0)
        {
            return;
        }

        // Written (etag-checked; a failure deactivates, and the next activation evaluates again) before anyone hears of it.
        await PersistAsync();
        await PublishNoticesAsync(notices);
    }

    private async Task PublishNoticesAsync(IReadOnlyList<AlertNotice> notices)
    {
        if (await Alerts.PublishAsync(notices, ServiceProvider, logger, $"Class {this.GetPrimaryKeyString()}") > 0)
        {
            // The marks are soft state (a lost one only means one idempotent republish): written without risking the
            // activation.
            _sloChanged = true;
            await PersistSloAsync();
        }
    }
}
