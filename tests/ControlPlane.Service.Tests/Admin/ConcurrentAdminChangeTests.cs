using ControlPlane.Domain.Policy;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Governance;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Orleans.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Admin;

/// <summary>Admin changes that race: no lost updates on a class policy, and the audit trail's order is the order in
/// which changes were applied.</summary>
public sealed class ConcurrentAdminChangeTests : IDisposable
{
    private const string Class = "customer_chat";
    private const string Endpoint = "openai-gpt4o-us";

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Two_policy_changes_computed_from_the_same_version_apply_once_and_the_other_conflicts()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var read = await node.Admin.GetClassAsync(Class);
        var hold = await PolicyFlow.ProposeAsync(node, Class, PolicyCommands.CustomerChat("queue_only", "hold for the incident", read.PolicyVersion), "alice");
        var fail = await PolicyFlow.ProposeAsync(node, Class, PolicyCommands.CustomerChat("fail", "fail fast for the incident", read.PolicyVersion), "bob");

        var changes = await Task.WhenAll(TryAsync(PolicyFlow.ApproveAllAsync(node, hold, "carol")), TryAsync(PolicyFlow.ApproveAllAsync(node, fail, "dave")));

        var applied = Assert.Single(changes, c => c.Error is null).Value!;
        var conflict = Assert.IsType<AdminException>(Assert.Single(changes, c => c.Error is not null).Error);
        Assert.Equal((AdminErrorKind.VersionConflict, "baseVersion"), (conflict.Kind, conflict.Field));
        var now = await node.Admin.GetClassAsync(Class);
        Assert.Equal(applied.Policy.Mode, now.Mode);
        Assert.Equal(2, now.PolicyVersion);
        Assert.True(now.Version > read.Version);
        var policyEntries = (await node.Admin.GetAuditAsync(null)).Where(e => e.Action == "class.policy").ToList();
        Assert.Equal(applied.ProposedBy, now.PolicyChangedBy);
        Assert.Single(policyEntries);
        var loser = applied.Id == hold.Id ? fail : hold;
        Assert.Equal(ProposalStates.Superseded, (await node.Policies.GetProposalAsync(loser.Id)).State);

        // The grain itself refuses the second of two changes computed from one version, however the calls interleave.
        var grain = node.Grains.GetGrain<IWorkloadClassGrain>(Class);
        var details = await grain.GetDetailsAsync();
        var direct = await Task.WhenAll(
            TryAsync(grain.ApplyApprovedPolicyAsync(new PolicyChange(details.Policy with { Mode = RoutingMode.Fail }, TestActors.Named("carol"), "fail fast", details.PolicyVersion) { ProposalId = "customer_chat~901" })),
            TryAsync(grain.ApplyApprovedPolicyAsync(new PolicyChange(details.Policy with { Mode = RoutingMode.QueueOnly }, TestActors.Named("dave"), "hold", details.PolicyVersion) { ProposalId = "customer_chat~902" })));
        Assert.Single(direct, c => c.Error is null);
        Assert.Equal(AdminErrorKind.VersionConflict, Assert.IsType<AdminException>(Assert.Single(direct, c => c.Error is not null).Error).Kind);
        Assert.Equal(2, (await node.Admin.GetAuditAsync(null)).Count(e => e.Action == "class.policy"));
    }

    [Fact]
    public async Task A_policy_change_with_a_stale_expected_version_changes_nothing_and_is_not_audited()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var stale = (await node.Admin.GetClassAsync(Class)).PolicyVersion;
        await PolicyFlow.ChangeAsync(node, Class, PolicyCommands.CustomerChat("queue_only", "hold"), "alice");
        var current = await node.Admin.GetClassAsync(Class);
        var entries = (await node.Admin.GetAuditAsync(null)).Count;

        var error = await Assert.ThrowsAsync<AdminException>(() =>
            PolicyFlow.ProposeAsync(node, Class, PolicyCommands.CustomerChat("fail", "from an old read", stale, ["openai-gpt41-us"]), "bob"));

        Assert.Equal((AdminErrorKind.VersionConflict, "expectedVersion"), (error.Kind, error.Field));
        var after = await node.Admin.GetClassAsync(Class);
        Assert.Equal((current.Mode, current.Version, current.PolicyChangedBy), (after.Mode, after.Version, after.PolicyChangedBy));
        Assert.Equal(current.Primary, after.Primary);
        // The node's table still has the applied change, not the refused one.
        Assert.True(node.Node.Snapshot.TryGetClassIndex(Class, out var index));
        Assert.Equal(RoutingMode.QueueOnly, node.Node.Snapshot.ClassAt(index).Mode);
        Assert.Equal(entries, (await node.Admin.GetAuditAsync(null)).Count);
        Assert.Equal("alice", Assert.Single(await node.Admin.GetAuditAsync(null), e => e.Action == "policy.propose").Actor.Principal);

        // The grain refuses a stale version on its own too (the admin layer's early check is only a shortcut).
        var grain = node.Grains.GetGrain<IWorkloadClassGrain>(Class);
        var policy = (await grain.GetDetailsAsync()).Policy;
        var direct = await Assert.ThrowsAsync<AdminException>(() => grain.ApplyApprovedPolicyAsync(
            new PolicyChange(policy with { Mode = RoutingMode.Fail }, TestActors.Named("mallory"), "stale", stale) { ProposalId = "customer_chat~99" }));
        Assert.Equal(AdminErrorKind.VersionConflict, direct.Kind);
        Assert.Equal(current.Version, (await grain.GetDetailsAsync()).Version);
        Assert.Equal(entries, (await node.Admin.GetAuditAsync(null)).Count);
    }

    [Fact]
    public async Task After_concurrent_endpoint_changes_the_newest_audit_entry_matches_the_applied_override()
    {
        // Audit appends take a random 0-15 ms in transit: an entry written after its change is applied (rather than in
        // the same turn) would land out of order.
        await using var node = await ServiceNode.StartAsync(_time, _storage,
            configureSilo: silo => silo.AddOutgoingGrainCallFilter(new JitteredAuditCalls()));
        var random = new Random(7);
        for (var round = 0; round < 5; round++)
        {
            var changes = Enumerable.Range(0, 24).Select(i => (Kind: random.Next(4), Reason: $"r{round}.{i}")).Select(c => Task.Run(() => c.Kind switch
            {
                0 => node.Admin.SetBreakerAsync(Endpoint, new("open", c.Reason, null), TestActors.Named("ops")),
                1 => node.Admin.SetBreakerAsync(Endpoint, new("closed", c.Reason, null), TestActors.Named("ops")),
                2 => node.Admin.SetBreakerAsync(Endpoint, new("auto", c.Reason, null), TestActors.Named("ops")),
                _ => node.Admin.DrainAsync(Endpoint, new(c.Reason, null), TestActors.Named("ops")),
            })).ToList();
            var views = await Task.WhenAll(changes);

            // Each answer carries the version its change was published at: the trail lists the changes in that order.
            var appliedOrder = views.Zip(Enumerable.Range(0, 24), (v, i) => (v.Version, Reason: $"r{round}.{i}")).OrderBy(v => v.Version).Select(v => v.Reason);
            var auditOrder = (await node.Admin.GetAuditAsync(24)).Reverse().Select(a => a.Reason);
            Assert.Equal(appliedOrder, auditOrder);

            var newest = (await node.Admin.GetAuditAsync(1))[0];
            var view = await node.Admin.GetEndpointAsync(Endpoint);
            var expected = newest.Action switch
            {
                "breaker.force_open" => "force_open",
                "breaker.force_closed" => "force_closed",
                "endpoint.drain" => "drain",
                "breaker.auto" => null,
                _ => throw new InvalidOperationException(newest.Action),
            };
            Assert.Equal(expected, view.Override?.Kind);
            Assert.Equal(newest.Reason, view.Override?.Reason ?? newest.Reason);
        }

        var audit = await node.Admin.GetAuditAsync(1000);
        Assert.Equal(5 * 24, audit.Count);
    }

    [Fact]
    public async Task After_concurrent_policy_changes_the_newest_audit_entry_describes_the_applied_policy()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage,
            configureSilo: silo => silo.AddOutgoingGrainCallFilter(new JitteredAuditCalls()));
        string[] modes = ["auto_fallback", "queue_only", "fail"];
        IReadOnlyList<string>[] primaries = [["openai-gpt4o-us"], ["openai-gpt41-us"], ["openai-gpt4o-us", "openai-gpt41-us"]];

        // Every writer retries on a version conflict (proposes again from the new version, has it approved again), so
        // every change applies, in some order.
        var writers = Enumerable.Range(0, 30).Select(async i =>
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    return await PolicyFlow.ChangeAsync(node, Class, PolicyCommands.CustomerChat(modes[i % 3], $"change {i}", primary: primaries[i / 3 % 3]),
                        $"writer-{i}", $"approver-{i}");
                }
                catch (AdminException e) when (e.Kind == AdminErrorKind.VersionConflict && attempt < 200)
                {
                }
            }
        }).ToList();
        await Task.WhenAll(writers);

        var current = await node.Admin.GetClassAsync(Class);
        var audit = (await node.Admin.GetAuditAsync(1000)).Where(e => e.Action == "class.policy").ToList();
        Assert.Equal(30, audit.Count);
        Assert.Equal(31, current.PolicyVersion);
        var newest = audit[0];
        Assert.Equal(current.PolicyChangedBy, newest.After.Split(" by ")[1].Split(',')[0]);
        var policy = (await node.Grains.GetGrain<IWorkloadClassGrain>(Class).GetDetailsAsync()).Policy;
        Assert.Equal(AdminNames.DescribePolicy(policy), Described(newest.After));
        // Each entry's "was" is the previous entry's "now": the trail is the order of application, with no gap.
        for (var i = 0; i + 1 < audit.Count; i++)
        {
            Assert.Equal(Described(audit[i].Before), Described(audit[i + 1].After));
        }
    }

    private static string Described(string text) => text[..text.IndexOf("; version", StringComparison.Ordinal)];

    public void Dispose() => _storage.Dispose();

    private static async Task<(T? Value, Exception? Error)> TryAsync<T>(Task<T> call)
    {
        try
        {
            return (await call, null);
        }
        catch (Exception error)
        {
            return (default, error);
        }
    }

    /// <summary>Delays calls to the audit trail by a random few milliseconds (network and scheduling jitter).</summary>
    private sealed class JitteredAuditCalls : IOutgoingGrainCallFilter
    {
        public async Task Invoke(IOutgoingGrainCallContext context)
        {
            if (context.TargetId.Type.ToString() == "audit")
            {
                await Task.Delay(Random.Shared.Next(16));
            }

            await context.Invoke();
        }
    }
}
