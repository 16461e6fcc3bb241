using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.DataPlane;

/// <summary>A workload class's budget (<c>budget:</c> in the fleet) is leased to nodes in slices like an endpoint's
/// TPM/RPM, and a request is admitted only when both its endpoint and its class can pay for it.</summary>
public sealed class ClassBudgetTests : IDisposable
{
    // Two unlimited endpoints; "metered" may send 10 requests a minute in total, "free" is unbudgeted.
    private const string BudgetFleet = """
        endpoints:
          - { id: big, provider: p, model: m, model_version: v1, region: r, context_window: 128000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
          - { id: other, provider: q, model: m, model_version: v1, region: r, context_window: 128000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: metered, owner: t, mode: auto_fallback, primary: [big], fallbacks: [other], budget: { tokens_per_minute: 0, requests_per_minute: 10 }, slo: { availability: 0.99 } }
          - { name: free, owner: t, mode: auto_fallback, primary: [big], slo: { availability: 0.99 } }
        """;

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task A_spent_class_budget_refuses_the_class_but_not_others_on_the_same_endpoints()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(BudgetFleet), o => o.LeaseSliceFraction = 0.5);

        // rpm 10, slice 0.5: this node holds 5 requests of the class's budget.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("big", node.Route("metered").EndpointId);
        }

        var refused = node.Route("metered");
        Assert.Equal(("", "no_capacity"), (refused.EndpointId, refused.RouteReason));
        Assert.Equal("big", node.Route("free").EndpointId);

        var view = await node.Admin.GetClassAsync("metered");
        Assert.Equal(10, view.Budget.RequestsPerMinute);
        Assert.Equal(5, view.Budget.AvailableRequests);
        Assert.Equal(5, view.Budget.OutstandingRequests);
        var holder = Assert.Single(view.BudgetLeases);
        Assert.Equal(("node-local", 5L), (holder.NodeId, holder.Requests));
        Assert.Equal(0, (await node.Admin.GetClassAsync("free")).Budget.RequestsPerMinute);

        // The rest of the bucket, then nothing until it refills (10 a minute).
        await node.Node.RenewLeasesAsync();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("big", node.Route("metered").EndpointId);
        }

        await node.Node.RenewLeasesAsync();
        Assert.Equal("no_capacity", node.Route("metered").RouteReason);
        // Advancing the clock also wakes the node's own loop, which may take the refilled slice first; either way
        // a wallet with it is installed as soon as that renewal's grain call completes.
        _time.Advance(TimeSpan.FromSeconds(30));
        await node.Node.RenewLeasesAsync();
        var admitted = node.Route("metered");
        for (var attempt = 0; admitted.EndpointId.Length == 0 && attempt < 500; attempt++)
        {
            await Task.Delay(10);
            admitted = node.Route("metered");
        }

        Assert.Equal("big", admitted.EndpointId);
    }

    [Fact]
    public async Task The_class_budget_ledger_survives_a_restart_instead_of_starting_full()
    {
        var fleet = ServiceNode.Fleet(BudgetFleet);
        await using (var first = await ServiceNode.StartAsync(_time, _storage, fleet, o => o.LeaseSliceFraction = 0.5))
        {
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal("big", first.Route("metered").EndpointId);
            }
        }

        // The stopped node returned an empty slice: 5 spent, 5 left, no refill yet (the clock did not move).
        await using var second = await ServiceNode.StartAsync(_time, _storage, fleet, o => o.LeaseSliceFraction = 0.5);
        var budget = (await second.Admin.GetClassAsync("metered")).Budget;
        Assert.Equal(0, budget.AvailableRequests);
        Assert.Equal(5, budget.OutstandingRequests);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("big", second.Route("metered").EndpointId);
        }

        Assert.Equal("no_capacity", second.Route("metered").RouteReason);
    }

    public void Dispose() => _storage.Dispose();
}
