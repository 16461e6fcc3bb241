using ControlPlane.Domain.Policy;
using ControlPlane.Grains.Storage;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using ControlPlane.Testing;

namespace ControlPlane.Service.Tests.Grains;

public sealed class WorkloadClassGrainTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly MemoryGrainStorage _storage = new();

    [Fact]
    public async Task A_policy_change_is_pushed_to_the_node_persisted_and_survives_a_restart()
    {
        await using (var node = await ServiceNode.StartAsync(_time, _storage))
        {
            var grain = node.Grains.GetGrain<IWorkloadClassGrain>("customer_chat");
            var current = (await grain.GetDetailsAsync()).Policy;
            var version = node.Node.TableVersion;

            var details = await grain.SetPolicyAsync(current with { Primary = ["anthropic-sonnet-us"], Fallbacks = [new FallbackApproval { EndpointId = "google-gemini-pro-us", EvalScore = 0.91 }] }, "frank", "eval results");

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
        var current = (await grain.GetDetailsAsync()).Policy;

        var error = await Assert.ThrowsAsync<PolicyValidationException>(() =>
            grain.SetPolicyAsync(current with { Fallbacks = [new FallbackApproval { EndpointId = "anthropic-sonnet-us" }] }, "mallory", "sneak a fallback in"));

        Assert.NotEmpty(error.Errors);
        var decision = node.Route("legal_draft");
        Assert.Equal(("primary", "anthropic-sonnet-eu"), (decision.RouteReason, decision.EndpointId));
        Assert.Empty(decision.Fallbacks);
        Assert.Empty((await grain.GetDetailsAsync()).Policy.Fallbacks);
    }
}
