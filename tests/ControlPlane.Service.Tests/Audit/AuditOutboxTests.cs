using ControlPlane.Service.Governance;
using ControlPlane.Service.Audit;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Audit;

/// <summary>A change and its audit entry are written together (the entry staged in the changing grain's own state) and
/// the entry is then delivered to the trail: a trail that cannot write at that moment delays the entry, never loses it,
/// and a repeated delivery is appended once.</summary>
public sealed class AuditOutboxTests : IDisposable
{
    private const string Endpoint = "openai-gpt4o-us";
    private static readonly GrainId EndpointGrain = GrainId.Create("endpoint", Endpoint);

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task A_change_made_while_the_trail_cannot_write_is_acknowledged_and_its_entry_reaches_the_trail_when_storage_returns()
    {
        var probe = new StorageProbe();
        await using var node = await ServiceNode.StartAsync(_time, _storage, probe: probe);
        probe.FailWrites = id => id.Type.ToString() == "audit";

        var view = await node.Admin.SetBreakerAsync(Endpoint, new("open", "INC-9", null), TestActors.Named("ops"));

        Assert.Equal("open", view.Breaker.State);
        // The change and its entry are in the endpoint's stored state; the trail has nothing yet.
        var (stored, _, _) = await probe.ReadStoredAsync<EndpointGrainState>("endpoint", EndpointGrain);
        Assert.NotNull(stored.Override);
        var staged = Assert.Single(stored.AuditOutbox!.Pending);
        Assert.Equal(("breaker.force_open", $"{EndpointGrain}#1"), (staged.Action, staged.ChangeId));
        Assert.Empty(await node.Admin.GetAuditAsync(null));

        probe.FailWrites = null;
        var audit = await Eventually.WaitAsync(async () =>
        {
            _time.Advance(GrainAuditOutbox.RetryPeriod);
            return await node.Admin.GetAuditAsync(null);
        }, a => a.Count > 0, attempts: 50);

        var entry = Assert.Single(audit);
        Assert.Equal(("breaker.force_open", "INC-9", "ops", staged.ChangeId), (entry.Action, entry.Reason, entry.Actor.Principal, entry.ChangeId));
        Assert.True((await node.Admin.VerifyAuditAsync()).Ok);

        // The next change goes straight through, numbered after the first.
        await node.Admin.DrainAsync(Endpoint, new("move", null), TestActors.Named("ops"));
        Assert.Equal($"{EndpointGrain}#2", (await node.Admin.GetAuditAsync(1))[0].ChangeId);
    }

    [Fact]
    public async Task Entries_persisted_but_not_delivered_before_a_restart_are_delivered_after_it_and_appended_once()
    {
        var probe = new StorageProbe();
        await using (var node = await ServiceNode.StartAsync(_time, _storage, probe: probe))
        {
            probe.FailWrites = id => id.Type.ToString() == "audit";
            await node.Admin.SetBreakerAsync(Endpoint, new("open", "before restart", null), TestActors.Named("ops"));
            probe.FailWrites = null;
        }

        var second = new StorageProbe();
        await using (var node = await ServiceNode.StartAsync(_time, _storage, probe: second))
        {
            // Activating the endpoint resumes its outbox.
            await node.Admin.GetEndpointAsync(Endpoint);
            var audit = await Eventually.WaitAsync(async () =>
            {
                _time.Advance(TimeSpan.FromMilliseconds(100));
                return await node.Admin.GetAuditAsync(null);
            }, a => a.Count > 0, attempts: 50);
            Assert.Equal("before restart", Assert.Single(audit).Reason);
            Assert.True((await node.Admin.VerifyAuditAsync()).Ok);
        }
    }

    [Fact]
    public async Task A_delivery_whose_acknowledgement_is_lost_is_retried_and_appended_once()
    {
        var lostAcks = new LostAcknowledgements { Remaining = 2 };
        await using var node = await ServiceNode.StartAsync(_time, _storage, configureSilo: silo => silo.AddOutgoingGrainCallFilter(lostAcks));

        await node.Admin.SetBreakerAsync(Endpoint, new("open", "INC-10", null), TestActors.Named("ops"));
        for (var i = 0; i < 5; i++)
        {
            _time.Advance(GrainAuditOutbox.RetryPeriod);
            await Task.Delay(50);
        }

        Assert.Equal(0, lostAcks.Remaining);
        // The append landed the first time; the retries were recognised by the change id.
        Assert.Equal("INC-10", Assert.Single(await node.Admin.GetAuditAsync(null)).Reason);
        await node.Admin.DrainAsync(Endpoint, new("after", null), TestActors.Named("ops"));
        Assert.Equal(new long[] { 2, 1 }, (await node.Admin.GetAuditAsync(null)).Select(e => e.Sequence));
    }

    [Fact]
    public async Task While_the_trail_stays_unreachable_a_grain_takes_changes_up_to_its_outbox_bound_then_refuses_them_unapplied()
    {
        var probe = new StorageProbe();
        await using var node = await ServiceNode.StartAsync(_time, _storage, probe: probe);
        probe.FailWrites = id => id.Type.ToString() == "audit";
        for (var i = 1; i <= GrainAuditOutbox.MaxPending; i++)
        {
            await node.Admin.SetBreakerAsync(Endpoint, new(i % 2 == 0 ? "closed" : "open", $"change {i}", null), TestActors.Named("ops"));
        }

        await Assert.ThrowsAsync<IOException>(() => node.Admin.DrainAsync(Endpoint, new("one too many", null), TestActors.Named("ops")));
        Assert.Equal("force_closed", (await node.Admin.GetEndpointAsync(Endpoint)).Override!.Kind);

        probe.FailWrites = null;
        var audit = await Eventually.WaitAsync(async () =>
        {
            _time.Advance(GrainAuditOutbox.RetryPeriod);
            return await node.Admin.GetAuditAsync(1000);
        }, a => a.Count >= GrainAuditOutbox.MaxPending, attempts: 100);
        Assert.Equal(Enumerable.Range(1, GrainAuditOutbox.MaxPending).Reverse().Select(i => $"change {i}"), audit.Select(e => e.Reason));
        await node.Admin.DrainAsync(Endpoint, new("now recorded", null), TestActors.Named("ops"));
        Assert.True((await node.Admin.VerifyAuditAsync()).Ok);
    }

    [Fact]
    public async Task A_repeated_delivery_of_a_change_is_appended_once_and_later_changes_of_the_source_still_are()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var trail = node.Grains.GetGrain<IAuditTrailGrain>(AuditTrailGrain.Key);
        AuditEntry Change(string source, long number) =>
            new(0, default, TestActors.Named("ops"), "test.change", source, $"{source} {number}", "", "") { ChangeId = $"{source}#{number}" };

        var first = await trail.AppendAsync(Change("endpoint/a", 1));
        Assert.Equal(first.Sequence, (await trail.AppendAsync(Change("endpoint/a", 1))).Sequence);
        await trail.AppendAsync(Change("endpoint/b", 1));
        await trail.AppendAsync(Change("endpoint/a", 2));
        await trail.AppendAsync(Change("endpoint/a", 1));
        await trail.AppendAsync(Change("endpoint/a", 2));

        Assert.Equal(new[] { "endpoint/a 2", "endpoint/b 1", "endpoint/a 1" }, (await trail.ListAsync(10)).Select(e => e.Reason));
    }

    [Fact]
    public async Task A_policy_change_while_the_trail_cannot_write_is_kept_staged_with_the_policy_and_delivered_later()
    {
        var probe = new StorageProbe();
        await using var node = await ServiceNode.StartAsync(_time, _storage, probe: probe);
        var proposal = await PolicyFlow.ProposeAsync(node, "customer_chat", PolicyCommands.CustomerChat("queue_only", "legal review"), author: "erin");
        probe.FailWrites = id => id.Type.ToString() == "audit";

        // The approval applies the policy: both the class's change and the approval step are acknowledged unaudited yet.
        await PolicyFlow.ApproveAllAsync(node, proposal, approver: "frank");

        var (stored, _, _) = await probe.ReadStoredAsync<ClassGrainState>("class", GrainId.Create("class", "customer_chat"));
        Assert.Equal("class.policy", Assert.Single(stored.AuditOutbox!.Pending).Action);
        var (steps, _, _) = await probe.ReadStoredAsync<PolicyProposalsState>("proposals", GrainId.Create("policy-proposals", "customer_chat"));
        Assert.Equal("policy.approve", Assert.Single(steps.AuditOutbox!.Pending).Action);
        probe.FailWrites = null;
        var audit = await Eventually.WaitAsync(async () =>
        {
            _time.Advance(GrainAuditOutbox.RetryPeriod);
            return await node.Admin.GetAuditAsync(null);
        }, a => a.Count >= 3, attempts: 50);
        Assert.Equal(["class.policy", "policy.approve", "policy.propose"], audit.Select(e => e.Action).Order(StringComparer.Ordinal));
        Assert.Equal("frank", audit.Single(e => e.Action == "class.policy").Actor.Principal);
    }

    public void Dispose() => _storage.Dispose();

    /// <summary>Lets appends to the trail through but fails the first <see cref="Remaining"/> of them on the way back,
    /// as a lost reply would: the sender cannot tell whether the entry landed.</summary>
    private sealed class LostAcknowledgements : IOutgoingGrainCallFilter
    {
        private int _remaining;

        public int Remaining
        {
            get => Volatile.Read(ref _remaining);
            set => Volatile.Write(ref _remaining, value);
        }

        public async Task Invoke(IOutgoingGrainCallContext context)
        {
            await context.Invoke();
            if (context.TargetId.Type.ToString() == "audit" && context.MethodName == nameof(IAuditTrailGrain.AppendAsync)
                && TryTake())
            {
                throw new TimeoutException("the reply of the audit append was lost");
            }
        }

        private bool TryTake()
        {
            while (true)
            {
                var left = Volatile.Read(ref _remaining);
                if (left <= 0)
                {
                    return false;
                }

                if (Interlocked.CompareExchange(ref _remaining, left - 1, left) == left)
                {
                    return true;
                }
            }
        }
    }
}
