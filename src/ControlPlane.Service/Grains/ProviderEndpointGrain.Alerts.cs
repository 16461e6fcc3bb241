using ControlPlane.Service.Alerting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Grains;

// The endpoint's alerts (docs/alerts.md): evaluated at every evaluation period, persisted with the grain's state
// (etag-checked) before their notices are published; an activation republishes what a previous one wrote but may not
// have published.
internal sealed partial class ProviderEndpointGrain : IEndpointAlertsGrain
{
    private readonly EndpointAlertRules _alertRules = new();
    private AlertBook? _alertBook;

    public Task<IReadOnlyList<AlertNotice>> GetAlertsAsync() =>
        Task.FromResult<IReadOnlyList<AlertNotice>>([.. Alerts.View(AlertTargetNow(), _ => true)]);

    private AlertBook Alerts => _alertBook ??= new AlertBook(State.Alerts ??= new AlertBookState());

    private AlertTarget AlertTargetNow() => EndpointAlertRules.Target(catalog.Endpoints[_descriptor.Id], catalog.Fleet);

    private async Task ResumeAlertsAsync()
    {
        if (!_alertRules.Restore(State.Alerts?.Counts))
        {
            logger.LogWarning("Endpoint {Endpoint}: the persisted alert counts could not be read in full.", _descriptor.Id);
        }

        ServiceProvider.GetRequiredService<AlertGauge>().Update(Alerts.Records);
        await PublishNoticesAsync(Alerts.Unpublished(AlertTargetNow()));
    }

    private void ExportAlertCounts() => (State.Alerts ??= new AlertBookState()).Counts = _alertRules.Export();

    private void ForgetAlertGauge() => ServiceProvider.GetService<AlertGauge>()?.Remove(Alerts.Records);

    private async Task EvaluateAlertRulesAsync()
    {
        var now = time.GetUtcNow();
        var entry = catalog.Endpoints[_descriptor.Id];
        var fleet = catalog.Fleet;
        var notices = Alerts.Evaluate(now, _alertRules.Evaluate(now, entry, fleet, _health.Endpoint, State.ModelChange), EndpointAlertRules.Target(entry, fleet));
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
        if (await Alerts.PublishAsync(notices, ServiceProvider, logger, $"Endpoint {_descriptor.Id}") > 0)
        {
            // The marks are soft state (a lost one only means one idempotent republish): written without risking the
            // activation.
            await PersistLearnedAsync(breaker: false);
        }
    }
}
