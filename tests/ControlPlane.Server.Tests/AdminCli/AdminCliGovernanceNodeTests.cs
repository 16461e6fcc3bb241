using System.Text.Json;
using ControlPlane.Server.AdminCli;
using ControlPlane.Server.Tests.Grpc;
using ControlPlane.Service.Security;

namespace ControlPlane.Server.Tests.AdminCli;

/// <summary>The governance commands (<c>policy *</c>, <c>break-glass *</c>, <c>audit verify|export</c>, <c>audit list</c>
/// filters and paging, <c>endpoint ack-model-change</c>) in-process against a running node with real API keys of the
/// roles each step needs; every effect is checked through the API. Each test works on a class of its own, so the order
/// the tests run in does not matter.</summary>
public sealed class AdminCliGovernanceNodeTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private EndToEnd.ControlPlaneNode Node => fixture.Node;

    [Fact]
    public async Task Two_person_policy_change_through_the_CLI_the_proposer_cannot_approve_and_show_list_history_see_it_applied()
    {
        var author = await Node.KeyForAsync("cli-author", Roles.PolicyAuthor, Roles.PolicyApprover);
        var approver = await Node.KeyForAsync("cli-approver", Roles.PolicyApprover);

        var propose = await CliAsync(author, "policy", "propose", "customer_chat", "--fallback", "google-gemini-pro-us=0.91,anthropic-sonnet-us",
            "--reason", "cli: prefer gemini", "--eval-ref", "eval-cli-1", "--output", "json");
        Assert.True(propose.ExitCode == CliExit.Ok, propose.ToString());
        var id = Json(propose).GetProperty("id").GetString()!;
        Assert.StartsWith("customer_chat~", id, StringComparison.Ordinal);
        var pending = await Node.GetAdminJsonAsync($"admin/v1/proposals/{id}");
        Assert.Equal(("pending", "cli-author", "eval-cli-1"),
            (pending.GetProperty("state").GetString(), pending.GetProperty("proposedBy").GetString(), pending.GetProperty("evalRef").GetString()));
        Assert.Equal(["google-gemini-pro-us", "anthropic-sonnet-us"], pending.GetProperty("policy").GetProperty("fallbacks").EnumerateArray().Select(f => f.GetProperty("endpointId").GetString()));
        Assert.Equal(0.93, pending.GetProperty("policy").GetProperty("fallbacks")[1].GetProperty("evalScore").GetDouble(), 6);

        // The proposer holds policy-approver too, but may not approve their own change: 403, exit 3, the rule on stderr.
        var self = await CliAsync(author, "policy", "approve", id, "--reason", "cli: my own");
        Assert.True(self.ExitCode == CliExit.Denied, self.ToString());
        Assert.Contains("not allowed (403)", self.Error, StringComparison.Ordinal);
        Assert.True(self.Error.Contains("the proposer cannot approve their own change", StringComparison.Ordinal), self.ToString());
        Assert.Contains("field: approver", self.Error, StringComparison.Ordinal);
        Assert.Equal("pending", (await Node.GetAdminJsonAsync($"admin/v1/proposals/{id}")).GetProperty("state").GetString());
        Assert.Equal(1, (await Node.GetAdminJsonAsync("admin/v1/classes/customer_chat")).GetProperty("policyVersion").GetInt64());

        var pendingShow = await CliAsync(approver, "policy", "show", id);
        Assert.True(pendingShow.ExitCode == CliExit.Ok, pendingShow.ToString());
        Assert.Contains($"proposal {id} for class customer_chat: pending, needs approval by policy-approver", pendingShow.Out, StringComparison.Ordinal);

        var approve = await CliAsync(approver, "policy", "approve", id, "--reason", "cli: eval reviewed");
        Assert.True(approve.ExitCode == CliExit.Ok, approve.ToString());
        Assert.Contains($"proposal {id} for class customer_chat: applied as policy version 2", approve.Out, StringComparison.Ordinal);

        var cls = await Node.GetAdminJsonAsync("admin/v1/classes/customer_chat");
        Assert.Equal(2, cls.GetProperty("policyVersion").GetInt64());
        Assert.Equal(["google-gemini-pro-us", "anthropic-sonnet-us"], cls.GetProperty("fallbacks").EnumerateArray().Select(f => f.GetProperty("endpointId").GetString()));

        var show = await CliAsync(approver, "policy", "show", id, "--output", "json");
        var list = await CliAsync(approver, "policy", "list", "--class", "customer_chat", "--state", "applied");
        var history = await CliAsync(approver, "policy", "history", "customer_chat");
        var historyJson = await CliAsync(approver, "policy", "history", "customer_chat", "-o", "json");

        Assert.True(show.ExitCode == CliExit.Ok, show.ToString());
        var shown = Json(show);
        Assert.Equal(("applied", 2L), (shown.GetProperty("state").GetString(), shown.GetProperty("appliedVersion").GetInt64()));
        var approval = Assert.Single(shown.GetProperty("approvals").EnumerateArray());
        Assert.Equal(("cli-approver", "policy-approver"), (approval.GetProperty("principal").GetString(), approval.GetProperty("role").GetString()));
        Assert.True(list.ExitCode == CliExit.Ok, list.ToString());
        Assert.Contains(id, list.Out, StringComparison.Ordinal);
        Assert.Contains("cli-approver (policy-approver)", list.Out, StringComparison.Ordinal);
        Assert.Contains("google-gemini-pro-us (0.91), anthropic-sonnet-us (0.93)", list.Out, StringComparison.Ordinal);
        Assert.Contains("policy.mode", list.Out, StringComparison.Ordinal);
        Assert.True(history.ExitCode == CliExit.Ok, history.ToString());
        Assert.Contains("cli-approver", history.Out, StringComparison.Ordinal);
        Assert.Contains("policy.fallbacks", history.Out, StringComparison.Ordinal);
        var versions = Json(historyJson).EnumerateArray().ToList();
        Assert.Equal([1L, 2L], versions.Select(v => v.GetProperty("version").GetInt64()));
        Assert.Equal((id, "cli-author"), (versions[1].GetProperty("proposalId").GetString(), versions[1].GetProperty("proposedBy").GetString()));
        Assert.Equal(["cli-approver"], versions[1].GetProperty("approvedBy").EnumerateArray().Select(a => a.GetString()));
    }

    [Fact]
    public async Task A_regulated_class_needs_a_compliance_approver_after_the_policy_approver()
    {
        var author = await Node.KeyForAsync("cli-legal-author", Roles.PolicyAuthor);
        var approver = await Node.KeyForAsync("cli-legal-approver", Roles.PolicyApprover);
        var compliance = await Node.KeyForAsync("cli-legal-compliance", Roles.ComplianceApprover);

        var propose = await CliAsync(author, "policy", "propose", "legal_draft", "--mode", "fail", "--reason", "cli: fail fast during audit", "-o", "json");
        Assert.True(propose.ExitCode == CliExit.Ok, propose.ToString());
        var id = Json(propose).GetProperty("id").GetString()!;

        var first = await CliAsync(approver, "policy", "approve", id);
        Assert.True(first.ExitCode == CliExit.Ok, first.ToString());
        Assert.Contains($"proposal {id} for class legal_draft: pending, needs approval by compliance-approver", first.Out, StringComparison.Ordinal);
        var cls = await Node.GetAdminJsonAsync("admin/v1/classes/legal_draft");
        Assert.Equal(("queue_only", 1L), (cls.GetProperty("mode").GetString(), cls.GetProperty("policyVersion").GetInt64()));

        var second = await CliAsync(compliance, "policy", "approve", id, "--reason", "cli: compliance ok");
        Assert.True(second.ExitCode == CliExit.Ok, second.ToString());
        cls = await Node.GetAdminJsonAsync("admin/v1/classes/legal_draft");
        Assert.Equal(("fail", 2L), (cls.GetProperty("mode").GetString(), cls.GetProperty("policyVersion").GetInt64()));
        var history = (await Node.GetAdminJsonAsync("admin/v1/classes/legal_draft/policy/history")).EnumerateArray().Last();
        Assert.Equal(["cli-legal-approver", "cli-legal-compliance"], history.GetProperty("approvedBy").EnumerateArray().Select(a => a.GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Policy_reject_closes_the_proposal_and_the_policy_stays()
    {
        var author = await Node.KeyForAsync("cli-batch-author", Roles.PolicyAuthor);
        var approver = await Node.KeyForAsync("cli-batch-approver", Roles.PolicyApprover);
        // queue_only with the approved fallbacks left in place is refused by the API naming the field; --fallback "" clears them.
        var contradictory = await CliAsync(author, "policy", "propose", "batch_classification", "--mode", "queue_only", "--reason", "cli: wait instead");
        Assert.True(contradictory.ExitCode == CliExit.Refused, contradictory.ToString());
        Assert.Contains("field: fallbacks", contradictory.Error, StringComparison.Ordinal);
        var propose = await CliAsync(author, "policy", "propose", "batch_classification", "--mode", "queue_only", "--fallback", "",
            "--reason", "cli: wait instead", "-o", "json");
        Assert.True(propose.ExitCode == CliExit.Ok, propose.ToString());
        var id = Json(propose).GetProperty("id").GetString()!;

        var noReason = await CliAsync(approver, "policy", "reject", id);
        var reject = await CliAsync(approver, "policy", "reject", id, "--reason", "cli: quality first");
        var list = await CliAsync(approver, "policy", "list", "--state", "rejected", "--class", "batch_classification", "-o", "json");
        var again = await CliAsync(approver, "policy", "approve", id);

        Assert.True(noReason.ExitCode == CliExit.Usage, noReason.ToString());
        Assert.Equal(0, Json(propose).GetProperty("policy").GetProperty("fallbacks").GetArrayLength());
        Assert.True(reject.ExitCode == CliExit.Ok, reject.ToString());
        Assert.Contains($"proposal {id} for class batch_classification: rejected", reject.Out, StringComparison.Ordinal);
        var proposal = await Node.GetAdminJsonAsync($"admin/v1/proposals/{id}");
        Assert.Equal(("rejected", "cli-batch-approver", "cli: quality first"),
            (proposal.GetProperty("state").GetString(), proposal.GetProperty("closedBy").GetString(), proposal.GetProperty("closeReason").GetString()));
        Assert.Equal(1, (await Node.GetAdminJsonAsync("admin/v1/classes/batch_classification")).GetProperty("policyVersion").GetInt64());
        Assert.True(list.ExitCode == CliExit.Ok, list.ToString());
        Assert.Contains(Json(list).EnumerateArray(), p => p.GetProperty("id").GetString() == id);
        Assert.True(again.ExitCode == CliExit.Refused, again.ToString());
        Assert.Contains("refused (409", again.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Policy_revert_proposes_the_previous_version_and_applies_it_once_approved()
    {
        var author = await Node.KeyForAsync("cli-copilot-author", Roles.PolicyAuthor);
        var approver = await Node.KeyForAsync("cli-copilot-approver", Roles.PolicyApprover);
        var original = (await Node.GetAdminJsonAsync("admin/v1/classes/internal_copilot")).GetProperty("fallbacks").EnumerateArray()
            .Select(f => f.GetProperty("endpointId").GetString()).ToList();
        var change = await CliAsync(author, "policy", "propose", "internal_copilot", "--fallback", "selfhosted-llama-eu,openai-gpt41-us", "--reason", "cli: reorder", "-o", "json");
        Assert.True(change.ExitCode == CliExit.Ok, change.ToString());
        var applied = await CliAsync(approver, "policy", "approve", Json(change).GetProperty("id").GetString()!);
        Assert.True(applied.ExitCode == CliExit.Ok, applied.ToString());
        Assert.Equal(2, (await Node.GetAdminJsonAsync("admin/v1/classes/internal_copilot")).GetProperty("policyVersion").GetInt64());

        var revert = await CliAsync(author, "policy", "revert", "internal_copilot", "--reason", "cli: back to the fleet order", "--eval-ref", "eval-cli-2", "-o", "json");
        Assert.True(revert.ExitCode == CliExit.Ok, revert.ToString());
        var proposal = Json(revert);
        Assert.Equal(("pending", 1L), (proposal.GetProperty("state").GetString(), proposal.GetProperty("revertTo").GetInt64()));
        Assert.Equal(2, (await Node.GetAdminJsonAsync("admin/v1/classes/internal_copilot")).GetProperty("policyVersion").GetInt64());
        var approve = await CliAsync(approver, "policy", "approve", proposal.GetProperty("id").GetString()!, "--reason", "cli: ok");

        Assert.True(approve.ExitCode == CliExit.Ok, approve.ToString());
        var cls = await Node.GetAdminJsonAsync("admin/v1/classes/internal_copilot");
        Assert.Equal(3, cls.GetProperty("policyVersion").GetInt64());
        Assert.Equal(original, cls.GetProperty("fallbacks").EnumerateArray().Select(f => f.GetProperty("endpointId").GetString()));
        Assert.NotEqual(["selfhosted-llama-eu", "openai-gpt41-us"], original);
    }

    [Fact]
    public async Task Break_glass_set_list_clear_by_an_operator_and_review_by_a_policy_approver()
    {
        var operatorKey = await Node.KeyForAsync("cli-oncall", Roles.Operator, Roles.Viewer);
        var approver = await Node.KeyForAsync("cli-bg-approver", Roles.PolicyApprover);

        var set = await CliAsync(operatorKey, "break-glass", "browser_agent", "--mode", "fail", "--reason", "cli: INC-9 runaway agent", "--ttl", "2h", "-o", "json");
        Assert.True(set.ExitCode == CliExit.Ok, set.ToString());
        var id = Json(set).GetProperty("id").GetString()!;
        var cls = await Node.GetAdminJsonAsync("admin/v1/classes/browser_agent");
        Assert.Equal("fail", cls.GetProperty("mode").GetString());
        Assert.Equal((id, "cli-oncall"), (cls.GetProperty("breakGlass").GetProperty("id").GetString(), cls.GetProperty("breakGlass").GetProperty("setBy").GetString()));

        var table = await CliAsync(operatorKey, "break-glass", "list", "--reviewed", "false");
        Assert.True(table.ExitCode == CliExit.Ok, table.ToString());
        Assert.Contains(id, table.Out, StringComparison.Ordinal);
        Assert.Contains("cli: INC-9 runaway agent", table.Out, StringComparison.Ordinal);
        Assert.Contains("reviewed", table.Out, StringComparison.Ordinal);

        var clear = await CliAsync(operatorKey, "break-glass", "clear", "browser_agent", "--reason", "cli: agent fixed");
        Assert.True(clear.ExitCode == CliExit.Ok, clear.ToString());
        cls = await Node.GetAdminJsonAsync("admin/v1/classes/browser_agent");
        Assert.Equal("queue_only", cls.GetProperty("mode").GetString());
        Assert.Equal(JsonValueKind.Null, cls.GetProperty("breakGlass").ValueKind);

        // Review is the policy approver's: the operator's key is refused (403, exit 3) and nothing changes.
        var byOperator = await CliAsync(operatorKey, "break-glass", "review", id, "--reason", "cli: reviewing my own");
        Assert.True(byOperator.ExitCode == CliExit.Denied, byOperator.ToString());
        var review = await CliAsync(approver, "break-glass", "review", id, "--reason", "cli: postmortem done");
        var reviewed = await CliAsync(operatorKey, "break-glass", "list", "--reviewed", "true", "-o", "json");

        Assert.True(review.ExitCode == CliExit.Ok, review.ToString());
        Assert.True(reviewed.ExitCode == CliExit.Ok, reviewed.ToString());
        var record = Assert.Single(Json(reviewed).EnumerateArray(), r => r.GetProperty("id").GetString() == id);
        Assert.Equal((true, false, "cli-bg-approver", "cli-oncall"), (record.GetProperty("reviewed").GetBoolean(), record.GetProperty("active").GetBoolean(),
            record.GetProperty("reviewedBy").GetString(), record.GetProperty("clearedBy").GetString()));
    }

    [Fact]
    public async Task Audit_list_filters_by_action_and_pages_with_limit_and_before()
    {
        var operatorKey = await Node.KeyForAsync("cli-pager", Roles.Operator, Roles.Viewer);
        var tag = Guid.NewGuid().ToString("N")[..8];
        foreach (var step in new[] { "drain", "undrain", "drain", "undrain" })
        {
            var run = await CliAsync(operatorKey, "endpoint", step, "openai-gpt41mini-us", "--reason", $"cli {tag} {step}");
            Assert.True(run.ExitCode == CliExit.Ok, run.ToString());
        }

        var page = await CliAsync(operatorKey, "audit", "list", "--action", "endpoint.drain", "--limit", "1", "-o", "json");
        var table = await CliAsync(operatorKey, "audit", "list", "--action", "endpoint.drain", "--limit", "1");

        Assert.True(page.ExitCode == CliExit.Ok, page.ToString());
        var first = Json(page);
        var newest = Assert.Single(first.GetProperty("entries").EnumerateArray());
        Assert.Equal(("endpoint.drain", "openai-gpt41mini-us", "cli-pager"),
            (newest.GetProperty("action").GetString(), newest.GetProperty("target").GetString(), newest.GetProperty("actor").GetProperty("principal").GetString()));
        var next = first.GetProperty("next").GetInt64();
        Assert.True(next <= newest.GetProperty("sequence").GetInt64());
        Assert.True(table.ExitCode == CliExit.Ok, table.ToString());
        Assert.Contains("more: --before ", table.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("endpoint.undrain", table.Out, StringComparison.Ordinal);

        var older = await CliAsync(operatorKey, "audit", "list", "--action", "endpoint.drain", "--limit", "1", "--before", next.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "json");
        Assert.True(older.ExitCode == CliExit.Ok, older.ToString());
        var second = Assert.Single(Json(older).GetProperty("entries").EnumerateArray());
        Assert.Equal("endpoint.drain", second.GetProperty("action").GetString());
        Assert.True(second.GetProperty("sequence").GetInt64() < newest.GetProperty("sequence").GetInt64());
        Assert.Equal([$"cli {tag} drain", $"cli {tag} drain"], new[] { newest, second }.Select(e => e.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task Audit_verify_exits_0_on_the_untouched_trail_and_export_writes_json_lines_that_parse()
    {
        var viewer = await Node.KeyForAsync("cli-auditor", Roles.Viewer);
        var operatorKey = await Node.KeyForAsync("cli-exporter", Roles.Operator);
        var reason = $"cli export {Guid.NewGuid():N}";
        var drain = await CliAsync(operatorKey, "endpoint", "drain", "google-gemini-flash-eu", "--reason", reason);
        Assert.True(drain.ExitCode == CliExit.Ok, drain.ToString());
        var undrain = await CliAsync(operatorKey, "endpoint", "undrain", "google-gemini-flash-eu", "--reason", reason);
        Assert.True(undrain.ExitCode == CliExit.Ok, undrain.ToString());

        var verify = await CliAsync(viewer, "audit", "verify");
        var verifyJson = await CliAsync(viewer, "audit", "verify", "-o", "json");
        Assert.True(verify.ExitCode == CliExit.Ok, verify.ToString());
        Assert.Contains("audit chain intact: ", verify.Out, StringComparison.Ordinal);
        Assert.True(verifyJson.ExitCode == CliExit.Ok, verifyJson.ToString());
        Assert.True(Json(verifyJson).GetProperty("ok").GetBoolean());
        var counted = Json(verifyJson).GetProperty("entries").GetInt64();

        var directory = Path.Combine(Path.GetTempPath(), $"cli-export-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            var file = Path.Combine(directory, "audit.ndjson");
            var export = await CliAsync(viewer, "audit", "export", "--out", file);
            var filtered = await CliAsync(viewer, "audit", "export", "--action", "endpoint.undrain", "--actor", "cli-exporter");

            Assert.True(export.ExitCode == CliExit.Ok, export.ToString());
            Assert.Contains($"written to {file}", export.Error, StringComparison.Ordinal);
            var lines = File.ReadAllLines(file).Where(l => l.Length > 0).ToList();
            var entries = lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
            Assert.True(entries.Count >= counted, $"{entries.Count} exported, {counted} verified");
            Assert.Equal(Enumerable.Range(1, entries.Count).Select(i => (long)i), entries.Select(e => e.GetProperty("sequence").GetInt64()));
            Assert.Equal(2, entries.Count(e => e.GetProperty("reason").GetString() == reason));
            Assert.All(entries.Skip(1).Zip(entries), pair => Assert.Equal(pair.Second.GetProperty("hash").GetString(), pair.First.GetProperty("previousHash").GetString()));
            Assert.True(filtered.ExitCode == CliExit.Ok, filtered.ToString());
            var only = Assert.Single(filtered.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains(reason, StringComparison.Ordinal));
            Assert.Equal("endpoint.undrain", JsonDocument.Parse(only).RootElement.GetProperty("action").GetString());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Ack_model_change_without_a_change_to_acknowledge_is_refused_with_exit_2_naming_the_field()
    {
        var operatorKey = await Node.KeyForAsync("cli-acker", Roles.Operator);

        var run = await CliAsync(operatorKey, "endpoint", "ack-model-change", "openai-gpt4o-us", "--reason", "cli: seen it");

        Assert.True(run.ExitCode == CliExit.Refused, run.ToString());
        Assert.Contains("refused (409", run.Error, StringComparison.Ordinal);
        Assert.Contains("field: id", run.Error, StringComparison.Ordinal);
        var entry = await Node.GetAdminJsonAsync("admin/v1/catalog/openai-gpt4o-us");
        Assert.Equal(JsonValueKind.Null, entry.GetProperty("modelChange").ValueKind);
    }

    private async Task<CliRun> CliAsync(string key, params string[] args) =>
        await CliHarness.RunAsync([.. args, "--url", Node.AdminAddress.ToString(), "--key", key]);

    private static JsonElement Json(CliRun run)
    {
        using var document = JsonDocument.Parse(run.Out);
        return document.RootElement.Clone();
    }
}
