using ControlPlane.Domain.Quotas;
using ControlPlane.Service.DataPlane;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.DataPlane;

/// <summary>A class's spend ceiling (<c>budget: { usd_per_day, usd_per_month }</c>) is leased to the routing nodes in
/// slices of money; each request pays its estimated cost at the chosen endpoint's price, reconciled to the reported
/// tokens; a class out of money gets no endpoint and the reason <c>spend_ceiling</c>.</summary>
public sealed class SpendCeilingTests : IDisposable
{
    // "capped" may spend $1 a day. One request (1,000 input tokens, at most 500 output) is estimated at
    // 1 x $0.01 + 0.5 x $0.02 = $0.02 on "dear" and costs $0.015 when it really produces 250 output tokens.
    private const string Fleet = """
        endpoints:
          - { id: dear, provider: p, model: m, model_version: v1, region: r, context_window: 128000, price_per_1k: { input: 0.01, output: 0.02 }, owner_team: t, on_call: t }
        classes:
          - { name: capped, owner: t, mode: auto_fallback, primary: [dear], budget: { usd_per_day: 1, usd_per_month: 20 }, slo: { availability: 0.99 } }
          - { name: open, owner: t, mode: auto_fallback, primary: [dear], slo: { availability: 0.99 } }
        """;

    private static readonly long Estimate = SpendUnits.FromUsd(0.02m);
    private static readonly long Actual = SpendUnits.FromUsd(0.015m);
    private static readonly long Ceiling = SpendUnits.FromUsd(1m);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 10, 9, 0, 0, TimeSpan.Zero));
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Three_nodes_spend_a_class_down_to_its_ceiling_and_then_get_spend_ceiling()
    {
        // Slices of 10 % of the ceiling ($0.10, five estimates).
        await using var host = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), o => o.Spend.SliceFraction = 0.1);
        var nodes = new List<RoutingNode> { host.Node };
        for (var n = 2; n <= 3; n++)
        {
            nodes.Add(await StartNodeAsync(host, "node-" + n));
        }

        try
        {
            var grain = host.Grains.GetGrain<IWorkloadClassGrain>("capped");
            long admitted = 0;
            var refused = new bool[nodes.Count];
            var warned = false;
            for (var round = 0; round < 200 && refused.Contains(false); round++)
            {
                for (var n = 0; n < nodes.Count; n++)
                {
                    var decision = Route(nodes[n]);
                    if (decision.EndpointId.Length == 0)
                    {
                        Assert.Equal("spend_ceiling", decision.RouteReason);
                        // Out of its slice: renew (the class grain grants what is left), then try once more.
                        await nodes[n].RenewLeasesAsync();
                        decision = Route(nodes[n]);
                        if (decision.EndpointId.Length == 0)
                        {
                            Assert.Equal("spend_ceiling", decision.RouteReason);
                            refused[n] = true;
                            continue;
                        }
                    }

                    Assert.Equal("dear", decision.EndpointId);
                    nodes[n].Report(new Wire.Outcome
                    {
                        DecisionId = decision.DecisionId,
                        EndpointId = "dear",
                        WorkloadClass = "capped",
                        Status = Wire.OutcomeStatus.Success,
                        HttpStatus = 200,
                        LatencyMs = 800,
                        InputTokens = 1_000,
                        OutputTokens = 250,
                    });
                    admitted += Actual;
                    refused[n] = false;
                }

                var alerts = (await grain.GetDetailsAsync()).Alerts.Select(a => a.Name).ToList();
                if (alerts.Contains("spend-day-80"))
                {
                    warned = true;
                    Assert.DoesNotContain("spend-day-100", alerts);
                }
            }

            Assert.All(refused, Assert.True);
            Assert.True(warned, "no spend-day-80 alert on the way to the ceiling");
            // Every node is refused; another class on the same endpoint is not.
            foreach (var node in nodes)
            {
                Assert.Equal(("", "spend_ceiling"), (Route(node).EndpointId, Route(node).RouteReason));
                Assert.Equal("dear", node.Route(new Wire.RouteRequest { WorkloadClass = "open", EstimatedInputTokens = 1_000, MaxOutputTokens = 500 }, null).EndpointId);
            }

            // Never above the ceiling, and spent down to less than a request's estimate per node and the grain.
            Assert.True(admitted <= Ceiling, $"admitted ${SpendUnits.ToUsd(admitted)} over a $1 ceiling");
            Assert.True(admitted > Ceiling - (4 * Estimate), $"only ${SpendUnits.ToUsd(admitted)} of $1 admitted");
            var details = await grain.GetDetailsAsync();
            Assert.Contains(details.Alerts, a => a.Name == "spend-day-100");
            var view = await host.Admin.GetClassAsync("capped");
            Assert.Contains(view.Alerts, a => a.Name == "spend-day-100" && a.Severity == "page");
            Assert.Equal(1m, view.Spend!.UsdPerDay);

            // Once the nodes hand their slices back, the ledger holds exactly the reported costs.
            foreach (var node in nodes.Skip(1))
            {
                await node.StopAsync(CancellationToken.None);
            }

            await host.Node.StopAsync(CancellationToken.None);
            var spend = (await grain.GetDetailsAsync()).Spend!;
            Assert.Equal((1m, 20m, 0m), (spend.UsdPerDay, spend.UsdPerMonth, spend.HeldUsd));
            Assert.Equal(SpendUnits.ToUsd(admitted), spend.DaySpentUsd);
            Assert.Equal(SpendUnits.ToUsd(admitted), spend.MonthSpentUsd);
        }
        finally
        {
            foreach (var node in nodes.Skip(1))
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task The_next_utc_day_brings_fresh_money_and_the_ledger_survives_a_restart()
    {
        var fleet = ServiceNode.Fleet(Fleet);
        await using (var first = await ServiceNode.StartAsync(_time, _storage, fleet, o => o.Spend.SliceFraction = 1))
        {
            // One slice is the whole dollar: 50 estimates of $0.02, never reported (charged at the estimate).
            for (var i = 0; i < 50; i++)
            {
                Assert.Equal("dear", Route(first.Node).EndpointId);
            }

            Assert.Equal("spend_ceiling", Route(first.Node).RouteReason);
        }

        // The restarted node gets nothing: the day's dollar is spent (the stopped node returned an empty slice).
        await using var second = await ServiceNode.StartAsync(_time, _storage, fleet, o => o.Spend.SliceFraction = 1);
        Assert.Equal(("", "spend_ceiling"), (Route(second.Node).EndpointId, Route(second.Node).RouteReason));
        var spend = (await second.Grains.GetGrain<IWorkloadClassGrain>("capped").GetDetailsAsync()).Spend!;
        Assert.Equal((1m, 1m), (spend.DaySpentUsd, spend.MonthSpentUsd));

        // 00:00 UTC: a new day, a new dollar (the month's $20 still has $19).
        _time.SetUtcNow(new DateTimeOffset(2026, 3, 11, 0, 0, 0, TimeSpan.Zero));
        await second.Node.RenewLeasesAsync();
        Assert.Equal("dear", Route(second.Node).EndpointId);
        spend = (await second.Grains.GetGrain<IWorkloadClassGrain>("capped").GetDetailsAsync()).Spend!;
        Assert.Equal((new DateTimeOffset(2026, 3, 11, 0, 0, 0, TimeSpan.Zero), 0m, 1m, 1m),
            (spend.Day, spend.DaySpentUsd, spend.MonthSpentUsd, spend.HeldUsd));
    }

    [Fact]
    public async Task A_lease_cut_at_midnight_is_spendable_to_its_end_and_the_new_day_follows()
    {
        _time.SetUtcNow(new DateTimeOffset(2026, 3, 10, 23, 59, 59, TimeSpan.Zero));
        await using var host = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), o => o.Spend.SliceFraction = 0.1);
        var lease = Assert.Single((await host.Grains.GetGrain<IWorkloadClassGrain>("capped").GetDetailsAsync()).Spend!.Leases);
        Assert.Equal(new DateTimeOffset(2026, 3, 11, 0, 0, 0, TimeSpan.Zero), lease.ExpiresAt);

        // 100 ms before midnight the old day's lease still pays (no safety margin on spend wallets).
        _time.SetUtcNow(new DateTimeOffset(2026, 3, 10, 23, 59, 59, 900, TimeSpan.Zero));
        Assert.Equal(("dear", "primary"), (Route(host.Node).EndpointId, Route(host.Node).RouteReason));

        // At midnight the next renewal brings the new day's money (a renewal still in flight from before midnight may
        // install one more lease that ends at midnight; the one after it is the new day's).
        _time.SetUtcNow(new DateTimeOffset(2026, 3, 11, 0, 0, 0, TimeSpan.Zero));
        var decision = Route(host.Node);
        for (var attempt = 0; decision.EndpointId.Length == 0 && attempt < 3; attempt++)
        {
            Assert.Equal("spend_ceiling", decision.RouteReason);
            await host.Node.RenewLeasesAsync();
            decision = Route(host.Node);
        }

        Assert.Equal(("dear", "primary"), (decision.EndpointId, decision.RouteReason));
        var spend = (await host.Grains.GetGrain<IWorkloadClassGrain>("capped").GetDetailsAsync()).Spend!;
        Assert.Equal(new DateTimeOffset(2026, 3, 11, 0, 0, 0, TimeSpan.Zero), spend.Day);
        // The new day's lease (the node's loop may be renewing it at the same time: one or two live).
        Assert.Contains(spend.Leases, l => l.ExpiresAt > new DateTimeOffset(2026, 3, 11, 0, 0, 0, TimeSpan.Zero));
    }

    [Fact]
    public async Task A_class_whose_grain_cannot_grant_money_is_refused_with_spend_ceiling_until_it_can()
    {
        // The real SQLite provider behind a probe whose reads of the "capped" class grain fail until healed.
        var broken = GrainId.Create("class", "capped");
        var probe = new StorageProbe { FailReads = id => id == broken };
        await using var host = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), probe: probe);

        Assert.Equal(("", "spend_ceiling"), (Route(host.Node).EndpointId, Route(host.Node).RouteReason));

        probe.FailReads = null;
        await host.Node.RenewLeasesAsync();
        // The default slice (1 % of $1) is smaller than one request's $0.02 estimate; the refusals made the renewal ask
        // for twice the request's cost instead.
        Assert.Equal(("dear", "primary"), (Route(host.Node).EndpointId, Route(host.Node).RouteReason));
        var spend = (await host.Grains.GetGrain<IWorkloadClassGrain>("capped").GetDetailsAsync()).Spend!;
        Assert.Equal(0.04m, Assert.Single(spend.Leases).Tokens / 1e9m);
    }

    [Fact]
    public async Task Cost_per_successful_request_at_four_times_the_baseline_raises_the_runaway_alert()
    {
        await using var host = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet));
        var grain = host.Grains.GetGrain<IWorkloadClassGrain>("open");

        // The baseline: 60 requests of 1,000 in and 250 out ($0.015 each).
        Serve(host.Node, 60, outputTokens: 250);
        await host.Node.FlushOutcomesAsync();
        _time.Advance(TimeSpan.FromMinutes(16));
        Serve(host.Node, 25, outputTokens: 250);
        await host.Node.FlushOutcomesAsync();
        Assert.DoesNotContain((await grain.GetDetailsAsync()).Alerts, a => a.Name == "cost-runaway");

        // A prompt loop: every request now writes 2,500 tokens ($0.06, 4x the baseline).
        _time.Advance(TimeSpan.FromMinutes(16));
        Serve(host.Node, 25, outputTokens: 2_500);
        await host.Node.FlushOutcomesAsync();

        var alert = Assert.Single((await grain.GetDetailsAsync()).Alerts, a => a.Name == "cost-runaway");
        Assert.Equal((Domain.Slo.AlertSeverity.Page, 3.0), (alert.Severity, alert.Threshold));
        Assert.InRange(alert.Value, 3.5, 4.5);
        Assert.Contains((await host.Admin.GetClassAsync("open")).Alerts, a => a.Name == "cost-runaway");
    }

    private static void Serve(RoutingNode node, int requests, long outputTokens)
    {
        for (var i = 0; i < requests; i++)
        {
            var decision = node.Route(new Wire.RouteRequest { WorkloadClass = "open", EstimatedInputTokens = 1_000, MaxOutputTokens = 500 }, null);
            Assert.Equal("dear", decision.EndpointId);
            node.Report(new Wire.Outcome
            {
                DecisionId = decision.DecisionId,
                EndpointId = "dear",
                WorkloadClass = "open",
                Status = Wire.OutcomeStatus.Success,
                HttpStatus = 200,
                LatencyMs = 800,
                InputTokens = 1_000,
                OutputTokens = outputTokens,
            });
        }
    }

    private static Wire.RouteDecision Route(RoutingNode node) =>
        node.Route(new Wire.RouteRequest { WorkloadClass = "capped", EstimatedInputTokens = 1_000, MaxOutputTokens = 500 }, null);

    private async Task<RoutingNode> StartNodeAsync(ServiceNode host, string nodeId)
    {
        var options = new ControlPlaneOptions { NodeId = nodeId };
        options.Spend.SliceFraction = 0.1;
        var node = new RoutingNode(host.Services.GetRequiredService<FleetCatalog>(), host.Grains, _time, Options.Create(options),
            NullLogger<RoutingNode>.Instance);
        await node.StartAsync(CancellationToken.None);
        return node;
    }

    public void Dispose() => _storage.Dispose();
}
