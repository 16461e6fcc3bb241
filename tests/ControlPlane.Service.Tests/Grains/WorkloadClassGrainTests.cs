using ControlPlane.Domain.Policy;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Grains;

public sealed class WorkloadClassGrainTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task A_policy_change_is_pushed_to_the_node_persisted_and_survives_a_restart()
    {
        await using (var node = await ServiceNode.StartAsync(_time, _storage))
        {
            var version = node.Node.TableVersion;

            var details = await PolicyFlow.ChangeAsync(node, "customer_chat",
                new PolicyCommand(null, ["anthropic-sonnet-us"], [new FallbackView("google-gemini-pro-us", 0.91)], null, "eval results"), "frank");

            Assert.Equal("frank", details.PolicyChangedBy);
            Assert.True(node.Node.TableVersion > version);
            var decision = node.Route("customer_chat");
            Assert.Equal(("primary", "anthropic-sonnet-us"), (decision.RouteReason, decision.EndpointId));
            Assert.Equal(["google-gemini-pro-us"], decision.Fallbacks);
        }

        await using var restarted = await ServiceNode.StartAsync(_time, _storage);
        Assert.Equal("anthropic-sonnet-us", restarted.Route("customer_chat").EndpointId);
        var policy = (await restarted.Grains.GetGrain<IWorkloadClassGrain>("customer_chat").GetDetailsAsync()).Policy;
        Assert.Equal(0.9, policy.QualityGate);
        Assert.Equal(["selfhosted-llama-eu"], policy.Prohibited);
    }

    [Fact]
    public async Task An_invalid_policy_is_refused_and_nothing_changes()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var grain = node.Grains.GetGrain<IWorkloadClassGrain>("legal_draft");
        var read = await grain.GetDetailsAsync();

        var error = await Assert.ThrowsAsync<AdminException>(() => grain.ApplyApprovedPolicyAsync(new PolicyChange(
            read.Policy with { Fallbacks = [new FallbackApproval { EndpointId = "anthropic-sonnet-us" }] }, TestActors.Named("mallory"), "sneak a fallback in", read.PolicyVersion)
        {
            ProposalId = "legal_draft~1",
        }));

        Assert.Equal(AdminErrorKind.Invalid, error.Kind);
        Assert.StartsWith("fallbacks", error.Field, StringComparison.Ordinal);
        var decision = node.Route("legal_draft");
        Assert.Equal(("primary", "anthropic-sonnet-eu"), (decision.RouteReason, decision.EndpointId));
        Assert.Empty(decision.Fallbacks);
        var after = await grain.GetDetailsAsync();
        Assert.Empty(after.Policy.Fallbacks);
        Assert.Equal(read.Version, after.Version);
        Assert.Empty(await node.Admin.GetAuditAsync(null));
    }

    [Fact]
    public async Task The_class_grain_applies_a_policy_only_as_an_approved_proposal_and_each_proposal_once()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var grain = node.Grains.GetGrain<IWorkloadClassGrain>("customer_chat");
        var read = await grain.GetDetailsAsync();
        var change = new PolicyChange(read.Policy with { Mode = RoutingMode.Fail, Fallbacks = [] }, TestActors.Named("mallory"), "no proposal", read.PolicyVersion);

        var error = await Assert.ThrowsAsync<AdminException>(() => grain.ApplyApprovedPolicyAsync(change));
        Assert.Equal((AdminErrorKind.Invalid, "proposalId"), (error.Kind, error.Field));
        Assert.Equal(RoutingMode.AutoFallback, (await grain.GetDetailsAsync()).Policy.Mode);

        // A retried apply of the same proposal (its answer was lost) is a no-op, not a conflict or a second version.
        var first = await grain.ApplyApprovedPolicyAsync(change with { ProposalId = "customer_chat~1" });
        var again = await grain.ApplyApprovedPolicyAsync(change with { ProposalId = "customer_chat~1" });
        Assert.Equal((2L, first.Version), (again.PolicyVersion, again.Version));
        Assert.Single(await node.Admin.GetAuditAsync(null), e => e.Action == "class.policy");
    }

    public void Dispose() => _storage.Dispose();
}
