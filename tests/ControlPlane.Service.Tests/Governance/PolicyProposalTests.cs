using ControlPlane.Domain.Policy;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Governance;
using ControlPlane.Service.Security;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Governance;

/// <summary>The two-person path to a class's policy, through <see cref="PolicyOperations"/> as the admin APIs call it:
/// who may propose and approve, regulated classes, reject, expiry, superseded proposals, versions and revert.</summary>
public sealed class PolicyProposalTests : IDisposable
{
    private const string Chat = "customer_chat";
    private const string Legal = "legal_draft";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));
    private readonly TestStorage _storage = new();

    private static AdminActor Author(string name = "alice") => TestActors.Named(name, Roles.PolicyAuthor);

    private static AdminActor Approver(string name = "bob") => TestActors.Named(name, Roles.PolicyApprover);

    private static AdminActor Compliance(string name = "carol") => TestActors.Named(name, Roles.ComplianceApprover);

    // The actor an API key's call carries (as AdminActors.FromHttp builds it).
    private static AdminActor KeyActor(ApiKeyCreated key, params string[] roles) => new(key.Name, roles, key.Id, "127.0.0.1:0", "test");

    private static ProposeCommand QueueOnlyChat(string reason = "hold during the provider incident") =>
        new(new PolicyCommand("queue_only", null, [], null, reason), "eval-2026-03-01");

    [Fact]
    public async Task The_proposer_cannot_approve_their_own_change_and_nothing_is_applied()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        // Alice holds every role, approver included: still not her own change.
        var alice = TestActors.Named("alice");
        var proposal = await node.Policies.ProposeAsync(Chat, QueueOnlyChat(), alice);

        var error = await Assert.ThrowsAsync<AdminException>(() => node.Policies.ApproveAsync(proposal.Id, null, alice));

        Assert.Equal((AdminErrorKind.Forbidden, "approver"), (error.Kind, error.Field));
        Assert.Contains("proposer cannot approve", error.Detail, StringComparison.Ordinal);
        var after = await node.Policies.GetProposalAsync(proposal.Id);
        Assert.Equal((ProposalStates.Pending, 0), (after.State, after.Approvals.Count));
        Assert.Equal(("auto_fallback", 1L), ((await node.Admin.GetClassAsync(Chat)).Mode, (await node.Admin.GetClassAsync(Chat)).PolicyVersion));
        Assert.Equal("primary", node.Route(Chat).RouteReason);
        Assert.DoesNotContain(await node.Admin.GetAuditAsync(null), e => e.Action is "policy.approve" or "class.policy");
    }

    [Fact]
    public async Task An_approval_with_an_API_key_the_proposer_created_is_forbidden_and_nothing_is_applied()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var keys = new KeyOperations(node.Grains, _time);
        // Alice, an admin, mints a second identity and proposes under her own.
        var minted = await keys.CreateAsync("mallory", [Roles.PolicyApprover], null, "a helper", TestActors.Named("alice"));
        var proposal = await node.Policies.ProposeAsync(Chat, QueueOnlyChat(), Author());

        var error = await Assert.ThrowsAsync<AdminException>(() => node.Policies.ApproveAsync(proposal.Id, null, KeyActor(minted, Roles.PolicyApprover)));

        Assert.Equal((AdminErrorKind.Forbidden, "approver"), (error.Kind, error.Field));
        Assert.Contains("created by the proposer", error.Detail, StringComparison.Ordinal);
        var after = await node.Policies.GetProposalAsync(proposal.Id);
        Assert.Equal((ProposalStates.Pending, 0), (after.State, after.Approvals.Count));
        Assert.Equal("auto_fallback", (await node.Admin.GetClassAsync(Chat)).Mode);
        Assert.DoesNotContain(await node.Admin.GetAuditAsync(null), e => e.Action is "policy.approve" or "class.policy");

        // A key someone else created approves.
        var bob = await keys.CreateAsync("bob", [Roles.PolicyApprover], null, "approver", TestActors.Named("root"));
        Assert.Equal(ProposalStates.Applied, (await node.Policies.ApproveAsync(proposal.Id, null, KeyActor(bob, Roles.PolicyApprover))).State);
    }

    [Fact]
    public async Task A_compliance_approval_with_an_API_key_the_policy_approver_created_is_forbidden()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var keys = new KeyOperations(node.Grains, _time);
        var proposal = await node.Policies.ProposeAsync(Legal, new ProposeCommand(new PolicyCommand("fail", null, null, null, "fail fast while EU capacity is short"), null), Author());
        await node.Policies.ApproveAsync(proposal.Id, null, Approver());
        // Bob, who gave the policy approval, mints a compliance approver.
        var minted = await keys.CreateAsync("carol2", [Roles.ComplianceApprover], null, "a helper", TestActors.Named("bob"));

        var error = await Assert.ThrowsAsync<AdminException>(() => node.Policies.ApproveAsync(proposal.Id, null, KeyActor(minted, Roles.ComplianceApprover)));

        Assert.Equal((AdminErrorKind.Forbidden, "approver"), (error.Kind, error.Field));
        Assert.Contains("created by 'bob'", error.Detail, StringComparison.Ordinal);
        var after = await node.Policies.GetProposalAsync(proposal.Id);
        Assert.Equal((ProposalStates.Pending, 1), (after.State, after.Approvals.Count));
        Assert.Equal("queue_only", (await node.Admin.GetClassAsync(Legal)).Mode);

        var carol = await keys.CreateAsync("carol", [Roles.ComplianceApprover], null, "compliance", TestActors.Named("root"));
        Assert.Equal(ProposalStates.Applied, (await node.Policies.ApproveAsync(proposal.Id, null, KeyActor(carol, Roles.ComplianceApprover))).State);
    }

    [Fact]
    public async Task Proposing_and_approving_need_their_roles()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var viewer = TestActors.Named("victor", Roles.Viewer, Roles.Operator);

        var propose = await Assert.ThrowsAsync<AdminException>(() => node.Policies.ProposeAsync(Chat, QueueOnlyChat(), viewer));
        Assert.Equal((AdminErrorKind.Forbidden, "actor"), (propose.Kind, propose.Field));

        var proposal = await node.Policies.ProposeAsync(Chat, QueueOnlyChat(), Author());
        // Another author is a different principal but not an approver.
        var approve = await Assert.ThrowsAsync<AdminException>(() => node.Policies.ApproveAsync(proposal.Id, null, Author("dan")));
        Assert.Equal((AdminErrorKind.Forbidden, "approver"), (approve.Kind, approve.Field));
        Assert.Contains(Roles.PolicyApprover, approve.Detail, StringComparison.Ordinal);
        // A compliance approver alone does not fill the policy approver's place on an unregulated class.
        await Assert.ThrowsAsync<AdminException>(() => node.Policies.ApproveAsync(proposal.Id, null, Compliance()));
        var reject = await Assert.ThrowsAsync<AdminException>(() => node.Policies.RejectAsync(proposal.Id, "no", viewer));
        Assert.Equal(AdminErrorKind.Forbidden, reject.Kind);

        Assert.Equal(ProposalStates.Pending, (await node.Policies.GetProposalAsync(proposal.Id)).State);
        Assert.Equal("auto_fallback", (await node.Admin.GetClassAsync(Chat)).Mode);
    }

    [Fact]
    public async Task An_approval_by_another_policy_approver_applies_the_change_pushes_it_and_audits_every_step()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var tableVersion = node.Node.TableVersion;
        var proposal = await node.Policies.ProposeAsync(Chat, QueueOnlyChat(), Author());
        Assert.Equal([Roles.PolicyApprover], proposal.Requires);
        Assert.Equal(1L, proposal.BaseVersion);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromDays(7), proposal.ExpiresAt);

        var applied = await node.Policies.ApproveAsync(proposal.Id, "looked at the eval", Approver());
        // Approving again is idempotent for the same principal.
        var again = await node.Policies.ApproveAsync(proposal.Id, null, Approver());

        Assert.Equal((ProposalStates.Applied, 2L), (applied.State, applied.AppliedVersion));
        Assert.Equal((applied.State, applied.AppliedVersion, 1), (again.State, again.AppliedVersion, again.Approvals.Count));
        Assert.True(node.Node.TableVersion > tableVersion);
        Assert.True(node.Node.Snapshot.TryGetClassIndex(Chat, out var index));
        Assert.Equal(RoutingMode.QueueOnly, node.Node.Snapshot.ClassAt(index).Mode);
        var view = await node.Admin.GetClassAsync(Chat);
        Assert.Equal(("queue_only", 2L, "alice"), (view.Mode, view.PolicyVersion, view.PolicyChangedBy));

        var audit = (await node.Admin.GetAuditAsync(null)).Reverse().ToList();
        Assert.Equal(["policy.propose", "policy.approve", "class.policy"], audit.Select(e => e.Action));
        Assert.All(audit, e => Assert.Equal("eval-2026-03-01", e.EvalRef));
        var change = audit[2];
        Assert.Equal(("bob", Chat), (change.Actor.Principal, change.Target));
        Assert.StartsWith("mode auto_fallback", change.Before, StringComparison.Ordinal);
        Assert.Contains($"mode queue_only", change.After, StringComparison.Ordinal);
        Assert.Contains($"proposal {proposal.Id} by alice, approved by bob", change.After, StringComparison.Ordinal);

        var history = await node.Policies.GetHistoryAsync(Chat);
        Assert.Equal([1L, 2L], history.Select(h => h.Version));
        Assert.Equal(("fleet", (string?)null), (history[0].ProposedBy, history[0].ProposalId));
        Assert.Equal((proposal.Id, "alice", "bob"), (history[1].ProposalId, history[1].ProposedBy, Assert.Single(history[1].ApprovedBy)));
    }

    [Fact]
    public async Task A_regulated_class_needs_a_compliance_approval_from_a_third_person_before_it_applies()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var proposal = await node.Policies.ProposeAsync(Legal, new ProposeCommand(new PolicyCommand("fail", null, null, null, "fail fast while EU capacity is short"), null), Author());
        Assert.Equal([Roles.PolicyApprover, Roles.ComplianceApprover], proposal.Requires);

        // Bob holds both approver roles: his approval fills one of them, and a second one from him changes nothing.
        var bob = TestActors.Named("bob", Roles.PolicyApprover, Roles.ComplianceApprover);
        var first = await node.Policies.ApproveAsync(proposal.Id, null, bob);
        var repeated = await node.Policies.ApproveAsync(proposal.Id, null, bob);
        Assert.Equal((ProposalStates.Pending, 1), (repeated.State, repeated.Approvals.Count));
        Assert.Equal(Roles.PolicyApprover, Assert.Single(first.Approvals).Role);
        Assert.Equal("queue_only", (await node.Admin.GetClassAsync(Legal)).Mode);
        // The proposer cannot give the compliance approval either, nor a second policy approver.
        await Assert.ThrowsAsync<AdminException>(() => node.Policies.ApproveAsync(proposal.Id, null, TestActors.Named("alice")));
        await Assert.ThrowsAsync<AdminException>(() => node.Policies.ApproveAsync(proposal.Id, null, Approver("erin")));

        var applied = await node.Policies.ApproveAsync(proposal.Id, "residency unaffected", Compliance());

        Assert.Equal(ProposalStates.Applied, applied.State);
        Assert.Equal([("bob", Roles.PolicyApprover), ("carol", Roles.ComplianceApprover)], applied.Approvals.Select(a => (a.Principal, a.Role)));
        Assert.Equal("fail", (await node.Admin.GetClassAsync(Legal)).Mode);
        Assert.True(node.Node.Snapshot.TryGetClassIndex(Legal, out var index));
        Assert.Equal(RoutingMode.Fail, node.Node.Snapshot.ClassAt(index).Mode);
    }

    [Fact]
    public async Task An_intern_with_the_author_role_alone_cannot_switch_legal_draft_to_automatic_fallback()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var intern = TestActors.Named("intern", Roles.PolicyAuthor);
        var proposal = await node.Policies.ProposeAsync(Legal,
            new ProposeCommand(new PolicyCommand("auto_fallback", null, [new FallbackView("openai-gpt41-us", 0.9)], [], "faster drafts"), null), intern);

        var own = await Assert.ThrowsAsync<AdminException>(() => node.Policies.ApproveAsync(proposal.Id, null, intern));
        // Another author cannot approve it either.
        var friend = await Assert.ThrowsAsync<AdminException>(() => node.Policies.ApproveAsync(proposal.Id, null, Author("friend")));

        Assert.Equal((AdminErrorKind.Forbidden, AdminErrorKind.Forbidden), (own.Kind, friend.Kind));
        var cls = await node.Admin.GetClassAsync(Legal);
        Assert.Equal(("queue_only", 1L), (cls.Mode, cls.PolicyVersion));
        Assert.Equal(("primary", "anthropic-sonnet-eu"), (node.Route(Legal).RouteReason, node.Route(Legal).EndpointId));
        // With the EU primary out, the draft waits for it: it never goes to the US model.
        await node.Admin.SetBreakerAsync("anthropic-sonnet-eu", new BreakerCommand("open", "outage", null), TestActors.Named("ops", Roles.Operator));
        var held = node.Route(Legal);
        Assert.Equal("queue_only_hold", held.RouteReason);
        Assert.NotEqual("openai-gpt41-us", held.EndpointId);
    }

    [Fact]
    public async Task A_rejected_proposal_cannot_be_approved_and_the_rejection_is_audited()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var proposal = await node.Policies.ProposeAsync(Chat, QueueOnlyChat(), Author());

        var missingReason = await Assert.ThrowsAsync<AdminException>(() => node.Policies.RejectAsync(proposal.Id, null, Approver()));
        Assert.Equal((AdminErrorKind.Invalid, "reason"), (missingReason.Kind, missingReason.Field));
        var rejected = await node.Policies.RejectAsync(proposal.Id, "the eval does not cover tool calls", Approver());
        var late = await Assert.ThrowsAsync<AdminException>(() => node.Policies.ApproveAsync(proposal.Id, null, Approver("erin")));

        Assert.Equal((ProposalStates.Rejected, "bob", "the eval does not cover tool calls"), (rejected.State, rejected.ClosedBy, rejected.CloseReason));
        Assert.Equal(AdminErrorKind.Conflict, late.Kind);
        Assert.Equal("auto_fallback", (await node.Admin.GetClassAsync(Chat)).Mode);
        var entry = (await node.Admin.GetAuditAsync(1))[0];
        Assert.Equal(("policy.reject", proposal.Id, "bob"), (entry.Action, entry.Target, entry.Actor.Principal));
        Assert.Equal([proposal.Id], (await node.Policies.ListProposalsAsync(ProposalStates.Rejected, null)).Select(p => p.Id));
        Assert.Empty(await node.Policies.ListProposalsAsync(ProposalStates.Pending, null));
    }

    [Fact]
    public async Task A_proposal_not_approved_within_its_lifetime_expires_and_can_no_longer_apply()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, configure: o => o.ProposalLifetime = TimeSpan.FromDays(2));
        var proposal = await node.Policies.ProposeAsync(Chat, QueueOnlyChat(), Author());
        _time.Advance(TimeSpan.FromDays(2) - TimeSpan.FromSeconds(1));
        Assert.Equal(ProposalStates.Pending, (await node.Policies.GetProposalAsync(proposal.Id)).State);

        _time.Advance(TimeSpan.FromSeconds(1));
        var error = await Assert.ThrowsAsync<AdminException>(() => node.Policies.ApproveAsync(proposal.Id, null, Approver()));

        Assert.Equal(AdminErrorKind.Conflict, error.Kind);
        Assert.Contains("expired", error.Detail, StringComparison.Ordinal);
        var expired = await node.Policies.GetProposalAsync(proposal.Id);
        Assert.Equal((ProposalStates.Expired, "system:proposal-expiry"), (expired.State, expired.ClosedBy));
        Assert.Equal("auto_fallback", (await node.Admin.GetClassAsync(Chat)).Mode);
        var entry = Assert.Single(await node.Admin.GetAuditAsync(null), e => e.Action == "policy.expire");
        Assert.Equal((proposal.Id, "system:proposal-expiry"), (entry.Target, entry.Actor.Principal));
    }

    [Fact]
    public async Task A_proposal_made_before_another_change_applied_is_superseded_when_approved()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var first = await node.Policies.ProposeAsync(Chat, QueueOnlyChat(), Author());
        var second = await node.Policies.ProposeAsync(Chat, new ProposeCommand(new PolicyCommand("fail", null, [], null, "fail fast"), null), Author("dan"));
        await node.Policies.ApproveAsync(first.Id, null, Approver());

        var error = await Assert.ThrowsAsync<AdminException>(() => node.Policies.ApproveAsync(second.Id, null, Approver()));

        Assert.Equal((AdminErrorKind.VersionConflict, "baseVersion"), (error.Kind, error.Field));
        Assert.Equal(ProposalStates.Superseded, (await node.Policies.GetProposalAsync(second.Id)).State);
        var cls = await node.Admin.GetClassAsync(Chat);
        Assert.Equal(("queue_only", 2L), (cls.Mode, cls.PolicyVersion));
        Assert.Single(await node.Admin.GetAuditAsync(null), e => e.Action == "policy.supersede");
    }

    [Fact]
    public async Task Revert_proposes_the_previous_version_and_applies_only_when_approved()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var atFirst = await Assert.ThrowsAsync<AdminException>(() => node.Policies.RevertAsync(Chat, "nothing to undo", null, Author()));
        Assert.Equal((AdminErrorKind.Conflict, "class"), (atFirst.Kind, atFirst.Field));
        await PolicyFlow.ChangeAsync(node, Chat, new PolicyCommand(null, ["openai-gpt41-us"], null, null, "gpt-4.1 first"));
        Assert.Equal("openai-gpt41-us", node.Route(Chat).EndpointId);

        var revert = await node.Policies.RevertAsync(Chat, "latency regressed", "eval-77", Author("dan"));

        Assert.Equal((ProposalStates.Pending, 2L, 1L), (revert.State, revert.BaseVersion, revert.RevertTo));
        Assert.Equal(["openai-gpt4o-us", "openai-gpt41-us"], revert.Policy.Primary);
        // Not applied before its approval.
        Assert.Equal("openai-gpt41-us", node.Route(Chat).EndpointId);
        await Assert.ThrowsAsync<AdminException>(() => node.Policies.ApproveAsync(revert.Id, null, TestActors.Named("dan")));
        var applied = await node.Policies.ApproveAsync(revert.Id, null, Approver());

        Assert.Equal(3L, applied.AppliedVersion);
        Assert.Equal(["openai-gpt4o-us", "openai-gpt41-us"], (await node.Admin.GetClassAsync(Chat)).Primary);
        Assert.True(node.Node.Snapshot.TryGetClassIndex(Chat, out var index));
        Assert.Equal(2, node.Node.Snapshot.ClassAt(index).Primary.Count);
        var history = await node.Policies.GetHistoryAsync(Chat);
        Assert.Equal([1L, 2L, 3L], history.Select(h => h.Version));
        Assert.Equal(Describe(history[0].Policy), Describe(history[2].Policy));
        Assert.NotEqual(Describe(history[1].Policy), Describe(history[2].Policy));
        Assert.Equal(("dan", "bob"), (history[2].ProposedBy, Assert.Single(history[2].ApprovedBy)));
    }

    [Fact]
    public async Task Proposals_are_validated_in_full_when_made_naming_the_field()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        async Task<AdminException> Refused(string name, PolicyCommand command, string? evalRef = null) =>
            await Assert.ThrowsAsync<AdminException>(() => node.Policies.ProposeAsync(name, new ProposeCommand(command, evalRef), Author()));

        Assert.Equal((AdminErrorKind.NotFound, "name"), Kind(await Refused("nope", new PolicyCommand("fail", null, [], null, "x"))));
        Assert.Equal("fallbacks", (await Refused(Chat, new PolicyCommand("queue_only", null, null, null, "x"))).Field);
        Assert.Equal("mode", (await Refused(Chat, new PolicyCommand("sideways", null, null, null, "x"))).Field);
        Assert.Equal("primary[1]", (await Refused(Chat, new PolicyCommand(null, ["openai-gpt4o-us", "nope"], null, null, "x"))).Field);
        Assert.Equal("fallbacks[0].evalScore", (await Refused(Chat, new PolicyCommand(null, null, [new FallbackView("google-gemini-flash-eu", null)], null, "x"))).Field);
        Assert.Equal("fallbacks[0].endpointId", (await Refused(Chat, new PolicyCommand(null, null, null, ["anthropic-sonnet-us"], "x"))).Field);
        Assert.Equal("reason", (await Refused(Chat, new PolicyCommand("fail", null, [], null, " "))).Field);
        Assert.Equal("evalRef", (await Refused(Chat, new PolicyCommand("fail", null, [], null, "x"), new string('e', 257))).Field);
        Assert.Equal("evalRef", (await Refused(Chat, new PolicyCommand("fail", null, [], null, "x"), "eval\u001b[31m")).Field);

        Assert.Empty(await node.Policies.ListProposalsAsync(null, null));
        Assert.Empty(await node.Admin.GetAuditAsync(null));
        var badState = await Assert.ThrowsAsync<AdminException>(() => node.Policies.ListProposalsAsync("open", null));
        Assert.Equal("state", badState.Field);
        var badId = await Assert.ThrowsAsync<AdminException>(() => node.Policies.GetProposalAsync("customer_chat~x"));
        Assert.Equal((AdminErrorKind.NotFound, "id"), Kind(badId));
    }

    [Fact]
    public async Task Pending_approvals_versions_and_history_survive_a_restart()
    {
        string id;
        await using (var node = await ServiceNode.StartAsync(_time, _storage))
        {
            await PolicyFlow.ChangeAsync(node, Chat, new PolicyCommand(null, ["openai-gpt41-us"], null, null, "gpt-4.1 first"));
            var proposal = await node.Policies.ProposeAsync(Legal, new ProposeCommand(new PolicyCommand("fail", null, null, null, "fail fast"), "eval-9"), Author());
            await node.Policies.ApproveAsync(proposal.Id, null, Approver());
            id = proposal.Id;
        }

        await using var restarted = await ServiceNode.StartAsync(_time, _storage);
        var pending = await restarted.Policies.GetProposalAsync(id);
        Assert.Equal((ProposalStates.Pending, "bob", "eval-9"), (pending.State, Assert.Single(pending.Approvals).Principal, pending.EvalRef));
        Assert.Equal(2L, (await restarted.Admin.GetClassAsync(Chat)).PolicyVersion);
        Assert.Equal([1L, 2L], (await restarted.Policies.GetHistoryAsync(Chat)).Select(h => h.Version));
        Assert.Equal("queue_only", (await restarted.Admin.GetClassAsync(Legal)).Mode);

        var applied = await restarted.Policies.ApproveAsync(id, null, Compliance());

        Assert.Equal((ProposalStates.Applied, 2L), (applied.State, applied.AppliedVersion));
        Assert.Equal("fail", (await restarted.Admin.GetClassAsync(Legal)).Mode);
        // A new proposal's id does not reuse a number.
        var next = await restarted.Policies.ProposeAsync(Legal, new ProposeCommand(new PolicyCommand("queue_only", null, null, null, "back"), null), Author());
        Assert.Equal("legal_draft~2", next.Id);
    }

    public void Dispose() => _storage.Dispose();

    private static string Describe(PolicyView p) =>
        $"{p.Mode} [{string.Join(",", p.Primary)}] [{string.Join(",", p.Fallbacks.Select(f => $"{f.EndpointId}:{f.EvalScore}"))}] [{string.Join(",", p.Prohibited)}]";

    private static (AdminErrorKind, string) Kind(AdminException e) => (e.Kind, e.Field);
}
