using ControlPlane.Service.Admin;
using ControlPlane.Service.Tests.DataPlane;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Keys = ControlPlane.Service.Telemetry.ControlPlaneTelemetry.Keys;

namespace ControlPlane.Service.Tests.Telemetry;

/// <summary>Breaker transitions are counted by the endpoint grain with the signal behind them, and logged
/// (BreakerTransition); the node's view of the breaker is an observed gauge; admin changes and key changes log lines.</summary>
public sealed class BreakerTransitionTelemetryTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();
    private readonly TelemetryFleet _fleet = new();

    [Fact]
    public async Task Outcomes_that_open_the_breaker_count_a_transition_with_their_signal_and_log_it()
    {
        var logs = new CapturedLogs();
        await using var node = await ServiceNode.StartAsync(_time, _storage, _fleet.Fleet, _fleet.Configure(BreakerRecoveryTests.Configure),
            configureSilo: s => s.Services.AddSingleton<ILoggerProvider>(logs));
        var endpoint = (Keys.Endpoint, _fleet.Primary);

        node.Fail(_fleet.Primary, _fleet.Class, 5);
        await node.Node.FlushOutcomesAsync();

        Assert.Equal(1, _fleet.Sum("controlplane.breaker.transitions", endpoint, (Keys.BreakerFrom, "closed"), (Keys.BreakerTo, "open"),
            (Keys.BreakerSignal, "consecutive_failures")));
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning
            && e.Message == $"Breaker of endpoint {_fleet.Primary} went from closed to open on consecutive_failures.");
        var open = await Eventually.WaitAsync(() => Task.FromResult(_fleet.Points("controlplane.breaker.state", endpoint, (Keys.BreakerState, "open"))),
            p => p.Count == 1 && p[0].Point.GetGaugeLastValueLong() == 1, 500);
        Assert.Equal(1, Assert.Single(open).Point.GetGaugeLastValueLong());
        Assert.Equal(0, Assert.Single(_fleet.Points("controlplane.breaker.state", endpoint, (Keys.BreakerState, "closed"))).Point.GetGaugeLastValueLong());
    }

    [Fact]
    public async Task A_forced_breaker_counts_a_transition_to_forced_open_and_back_and_logs_the_admin_change()
    {
        var logs = new CapturedLogs();
        await using var node = await ServiceNode.StartAsync(_time, _storage, _fleet.Fleet, _fleet.Configure(),
            configureSilo: s => s.Services.AddSingleton<ILoggerProvider>(logs));
        var endpoint = (Keys.Endpoint, _fleet.Primary);
        var alice = TestActors.Named("alice", ControlPlane.Service.Security.Roles.Operator);

        // A publication version is at least the publisher's clock: the clock moves on from the grains' activation.
        _time.Advance(TimeSpan.FromSeconds(1));
        await node.Admin.SetBreakerAsync(_fleet.Primary, new BreakerCommand("open", "provider incident", null), alice);
        await node.Admin.SetBreakerAsync(_fleet.Primary, new BreakerCommand("auto", "incident over", null), alice);

        // One collection, read for both transitions.
        var transitions = _fleet.Points("controlplane.breaker.transitions", endpoint)
            .Select(p => ($"{p.Tags[Keys.BreakerFrom]}->{p.Tags[Keys.BreakerTo]} {p.Tags[Keys.BreakerSignal]}", p.Point.GetSumLong())).ToList();
        Assert.Contains(("closed->forced_open forced", 1L), transitions);
        Assert.Contains(("forced_open->closed override_cleared", 1L), transitions);
        Assert.Contains(logs.Entries, e => e.Message == $"Admin change by alice: breaker.force_open on {_fleet.Primary}.");
        // The pushes reached the node: their propagation lag was measured (the fake clock stood still: 0 s).
        var lag = await Eventually.WaitAsync(() => Task.FromResult(_fleet.Points("controlplane.propagation.lag", (Keys.ChangeKind, "endpoint"))),
            p => p.Sum(x => x.Point.GetHistogramCount()) >= 1, 500);
        Assert.True(lag.Sum(x => x.Point.GetHistogramCount()) >= 1, string.Join(", ", _fleet.Points("controlplane.propagation.lag")
            .Select(p => string.Join("|", p.Tags.Select(t => $"{t.Key}={t.Value}")) + $" n={p.Point.GetHistogramCount()}")));
        Assert.Contains(logs.Entries, e => e.Message == $"Breaker of endpoint {_fleet.Primary} went from closed to forced_open on forced.");
    }

    public void Dispose()
    {
        _fleet.Dispose();
        _storage.Dispose();
    }
}
