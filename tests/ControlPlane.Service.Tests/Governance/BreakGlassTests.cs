using ControlPlane.Domain.Policy;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Governance;
using ControlPlane.Service.Security;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Governance;

/// <summary>An operator's break-glass: a class forced to queue_only or fail at once, on the node too, recorded for
/// review, cleared back to the approved policy or lapsing by itself.</summary>
public sealed class BreakGlassTests : IDisposable
{
    private const string Chat = "customer_chat";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));
    private readonly TestStorage _storage = new();

    private static AdminActor Operator(string name = "olga") => TestActors.Named(name, Roles.Operator);

    [Fact]
    public async Task A_break_glass_whose_record_was_not_written_never_lends_its_id_to_the_next_one()
    {
        var probe = new StorageProbe();
        await using var node = await ServiceNode.StartAsync(_time, _storage, probe: probe);
        // The proposals grain's write after the class grain applied the break-glass (its record) fails.
        var classWritten = false;
        probe.FailWrites = id =>
        {
            classWritten |= id.Type.ToString() == "class";
            return classWritten && id.Type.ToString() == "policy-proposals";
        };

        await Assert.ThrowsAnyAsync<Exception>(() => node.Policies.BreakGlassAsync(Chat, new BreakGlassRequest("queue_only", "hold", null), Operator()));
        probe.FailWrites = null;
        Assert.Equal("queue_only", (await node.Admin.GetClassAsync(Chat)).Mode);

        // The operator escalates: a new break-glass, applied (not taken for a retry of the first and ignored).
        var escalated = await node.Policies.BreakGlassAsync(Chat, new BreakGlassRequest("fail", "still leaking", null), Operator());

        Assert.Equal("fail", escalated.Mode);
        Assert.Equal("fail", (await node.Admin.GetClassAsync(Chat)).Mode);
        Assert.True(node.Node.Snapshot.TryGetClassIndex(Chat, out var index));
        Assert.Equal(RoutingMode.Fail, node.Node.Snapshot.ClassAt(index).Mode);
    }

    [Fact]
    public async Task Break_glass_forces_the_mode_on_the_node_at_once_is_listed_and_reviewed_and_clear_restores_the_approved_policy()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        foreach (var id in new[] { "openai-gpt4o-us", "openai-gpt41-us" })
        {
            await node.Admin.SetBreakerAsync(id, new BreakerCommand("open", "outage", null), Operator());
        }

        Assert.Equal("anthropic-sonnet-us", node.Route(Chat).EndpointId);

        var record = await node.Policies.BreakGlassAsync(Chat, new BreakGlassRequest("fail", "fallbacks are leaking PII", null), Operator());

        // Applied before the call answered: the node's table has the forced mode, so nothing falls back.
        Assert.Equal(($"{Chat}~bg1", "fail", true, false), (record.Id, record.Mode, record.Active, record.Reviewed));
        Assert.True(node.Node.Snapshot.TryGetClassIndex(Chat, out var index));
        Assert.Equal(RoutingMode.Fail, node.Node.Snapshot.ClassAt(index).Mode);
        Assert.Empty(node.Route(Chat).EndpointId);
        var view = await node.Admin.GetClassAsync(Chat);
        Assert.Equal(("fail", record.Id, "olga", 1L), (view.Mode, view.BreakGlass?.Id, view.BreakGlass?.SetBy, view.PolicyVersion));
        var entry = (await node.Admin.GetAuditAsync(1))[0];
        Assert.Equal(("class.break_glass", Chat, "olga"), (entry.Action, entry.Target, entry.Actor.Principal));
        Assert.Equal([record.Id], (await node.Policies.ListBreakGlassAsync(false)).Select(r => r.Id));

        // Reviewed by a policy approver who is not the operator.
        var self = await Assert.ThrowsAsync<AdminException>(() => node.Policies.ReviewBreakGlassAsync(record.Id, "fine", TestActors.Named("olga")));
        Assert.Equal(AdminErrorKind.Forbidden, self.Kind);
        await Assert.ThrowsAsync<AdminException>(() => node.Policies.ReviewBreakGlassAsync(record.Id, "fine", Operator("oscar")));
        var reviewed = await node.Policies.ReviewBreakGlassAsync(record.Id, "justified: PII in fallback logs", TestActors.Named("bob", Roles.PolicyApprover));
        Assert.Equal((true, "bob"), (reviewed.Reviewed, reviewed.ReviewedBy));
        Assert.Empty(await node.Policies.ListBreakGlassAsync(false));
        Assert.Single(await node.Policies.ListBreakGlassAsync(true));

        var cleared = await node.Policies.ClearBreakGlassAsync(Chat, "vendor fixed the logging", Operator("oscar"));

        Assert.Equal((false, "oscar"), (cleared.Active, cleared.ClearedBy));
        Assert.Equal(RoutingMode.AutoFallback, node.Node.Snapshot.ClassAt(index).Mode);
        Assert.Equal("anthropic-sonnet-us", node.Route(Chat).EndpointId);
        var after = await node.Admin.GetClassAsync(Chat);
        Assert.Equal(("auto_fallback", null, 2), (after.Mode, after.BreakGlass, after.Fallbacks.Count));
        Assert.Equal("class.break_glass.clear", (await node.Admin.GetAuditAsync(1))[0].Action);
        var again = await Assert.ThrowsAsync<AdminException>(() => node.Policies.ClearBreakGlassAsync(Chat, "twice", Operator()));
        Assert.Equal(AdminErrorKind.Conflict, again.Kind);
    }

    [Fact]
    public async Task Only_an_operator_breaks_glass_and_only_into_queue_only_or_fail()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);

        var author = await Assert.ThrowsAsync<AdminException>(() =>
            node.Policies.BreakGlassAsync(Chat, new BreakGlassRequest("fail", "x", null), TestActors.Named("alice", Roles.PolicyAuthor, Roles.PolicyApprover)));
        var mode = await Assert.ThrowsAsync<AdminException>(() => node.Policies.BreakGlassAsync(Chat, new BreakGlassRequest("auto_fallback", "x", null), Operator()));
        var ttl = await Assert.ThrowsAsync<AdminException>(() => node.Policies.BreakGlassAsync(Chat, new BreakGlassRequest("fail", "x", 0), Operator()));

        Assert.Equal((AdminErrorKind.Forbidden, "mode", "ttlSeconds"), (author.Kind, mode.Field, ttl.Field));
        Assert.Equal("auto_fallback", (await node.Admin.GetClassAsync(Chat)).Mode);
        Assert.Empty(await node.Policies.ListBreakGlassAsync(null));
    }

    [Fact]
    public async Task A_break_glass_with_a_ttl_lapses_by_itself_and_survives_a_restart_until_then()
    {
        await using (var node = await ServiceNode.StartAsync(_time, _storage))
        {
            await node.Policies.BreakGlassAsync(Chat, new BreakGlassRequest("queue_only", "hold while we check", 600), Operator());
        }

        await using var restarted = await ServiceNode.StartAsync(_time, _storage);
        Assert.True(restarted.Node.Snapshot.TryGetClassIndex(Chat, out var index));
        Assert.Equal(RoutingMode.QueueOnly, restarted.Node.Snapshot.ClassAt(index).Mode);
        Assert.Equal("queue_only", (await restarted.Admin.GetClassAsync(Chat)).Mode);

        _time.Advance(TimeSpan.FromMinutes(11));

        var mode = await Eventually.WaitAsync(() => Task.FromResult(restarted.Node.Snapshot.ClassAt(index).Mode), m => m == RoutingMode.AutoFallback, 1000);
        Assert.Equal(RoutingMode.AutoFallback, mode);
        var view = await restarted.Admin.GetClassAsync(Chat);
        Assert.Equal(("auto_fallback", null), (view.Mode, view.BreakGlass));
        Assert.Contains(await restarted.Admin.GetAuditAsync(null), e => e.Action == "class.break_glass.expire" && e.Actor.Principal == "system:break-glass-expiry");
        var record = Assert.Single(await restarted.Policies.ListBreakGlassAsync(false));
        Assert.False(record.Active);
    }

    [Fact]
    public async Task An_approved_policy_change_under_break_glass_keeps_the_forced_mode_until_cleared()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        await node.Policies.BreakGlassAsync(Chat, new BreakGlassRequest("fail", "incident", null), Operator());

        await PolicyFlow.ChangeAsync(node, Chat, new PolicyCommand(null, ["openai-gpt41-us"], null, null, "gpt-4.1 first"));

        Assert.True(node.Node.Snapshot.TryGetClassIndex(Chat, out var index));
        Assert.Equal((RoutingMode.Fail, "openai-gpt41-us"), (node.Node.Snapshot.ClassAt(index).Mode, Assert.Single(node.Node.Snapshot.ClassAt(index).Primary)));
        await node.Policies.ClearBreakGlassAsync(Chat, "over", Operator());
        Assert.Equal(RoutingMode.AutoFallback, node.Node.Snapshot.ClassAt(index).Mode);
        Assert.Equal(2, node.Node.Snapshot.ClassAt(index).Fallbacks.Count);
    }

    public void Dispose() => _storage.Dispose();
}
