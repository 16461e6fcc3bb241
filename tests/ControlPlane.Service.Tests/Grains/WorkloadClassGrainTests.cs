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
            var grain = node.Grains.GetGrain<IWorkloadClassGrain>("customer_chat");
            var read = await grain.GetDetailsAsync();
            var version = node.Node.TableVersion;

            var details = await grain.SetPolicyAsync(new PolicyChange(
                read.Policy with { Primary = ["anthropic-sonnet-us"], Fallbacks = [new FallbackApproval { EndpointId = "google-gemini-pro-us", EvalScore = 0.91 }] },
                TestActors.Named("frank"), "eval results", read.Version));

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

        var error = await Assert.ThrowsAsync<AdminException>(() => grain.SetPolicyAsync(new PolicyChange(
            read.Policy with { Fallbacks = [new FallbackApproval { EndpointId = "anthropic-sonnet-us" }] }, TestActors.Named("mallory"), "sneak a fallback in", read.Version)));

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

    public void Dispose() => _storage.Dispose();
}
