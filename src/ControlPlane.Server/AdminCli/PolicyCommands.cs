using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using static ControlPlane.Server.AdminCli.CliSymbols;

namespace ControlPlane.Server.AdminCli;

/// <summary><c>policy propose|approve|reject|list|show|history|revert</c>: two-person fallback-policy changes.</summary>
internal static class PolicyCommands
{
    /// <summary>Routing modes a proposal may set.</summary>
    public static readonly string[] Modes = ["auto_fallback", "queue_only", "fail"];

    /// <summary>Proposal states <c>policy list --state</c> filters on.</summary>
    public static readonly string[] States = ["pending", "applied", "rejected", "expired", "superseded"];

    /// <summary>The policy command with its subcommands.</summary>
    public static Command Build(CliRunner run) =>
        Command("policy", "Fallback-policy changes: proposed by one principal, approved by another (policy-approver; plus compliance-approver for regulated classes).",
            Propose(run), Decide(run, "approve"), Decide(run, "reject"), List(run), Show(run), History(run), Revert(run));

    /// <summary>A proposal as one block: its state, what it still needs while pending, then every member.</summary>
    public static void RenderProposal(JsonElement json, CliTables t)
    {
        var state = CliTables.Text(json, "state");
        var line = $"proposal {CliTables.Text(json, "id")} for class {CliTables.Text(json, "class")}: {state}";
        if (state == "pending" && Missing(json) is { Count: > 0 } missing)
        {
            line += $", needs approval by {string.Join(" and ", missing)}";
        }
        else if (CliTables.Text(json, "appliedVersion") is { } applied)
        {
            line += $" as policy version {applied}";
        }

        t.Line(line);
        t.Details(json);
    }

    /// <summary>The required roles no approval fills yet (the API lists every required role in <c>requires</c> and the
    /// filled ones in <c>approvals[].role</c>).</summary>
    public static List<string> Missing(JsonElement proposal)
    {
        var requires = CliTables.Member(proposal, "requires");
        var approvals = CliTables.Member(proposal, "approvals");
        var filled = approvals.ValueKind == JsonValueKind.Array
            ? approvals.EnumerateArray().Select(a => CliTables.Text(a, "role")).ToHashSet(StringComparer.Ordinal)
            : [];
        return requires.ValueKind == JsonValueKind.Array
            ? [.. requires.EnumerateArray().Select(CliTables.Format).Where(r => !filled.Contains(r))]
            : [];
    }

    private static Command Propose(CliRunner run)
    {
        var name = Argument("CLASS", "The workload class.");
        var mode = Text("--mode", $"Routing mode: {string.Join(", ", Modes)}.");
        var primary = Many("--primary", "Primary endpoints in preference order (comma-separated or repeated; replaces the list).");
        var fallback = Many("--fallback", "Approved fallback as id=evalScore (or a bare id keeping its score); repeated, in order; replaces the list.");
        var prohibit = Many("--prohibit", "Endpoints the class must never use (comma-separated or repeated; replaces the list).");
        var reason = Reason();
        var evalRef = Text("--eval-ref", "The eval that supports the change (recorded with it).");
        var expected = new Option<long?>("--expected-version") { Description = "Propose only against this policy version (else refused)." };
        var propose = Command("propose", "Propose a change to a class's fallback policy (policy-author); omitted parts are kept.",
            name, mode, primary, fallback, prohibit, reason, evalRef, expected);
        run.Call(propose, p =>
        {
            var target = Class(p, name);
            var body = new JsonObject
            {
                ["mode"] = p.GetValue(mode) is { } m ? CliInput.OneOf(m, "--mode", Modes) : null,
                ["primary"] = CliInput.Ids(p.GetValue(primary), "--primary"),
                ["fallbacks"] = CliInput.Fallbacks(p.GetValue(fallback)),
                ["prohibited"] = CliInput.Ids(p.GetValue(prohibit), "--prohibit"),
                ["reason"] = CliInput.Reason(p.GetValue(reason)),
                ["evalRef"] = p.GetValue(evalRef) is { } e ? CliInput.Text(e, "--eval-ref") : null,
                ["expectedVersion"] = p.GetValue(expected) is { } v ? (v >= 0 ? v : throw new CliUsageException("--expected-version: must not be negative")) : null,
            };
            if (body["mode"] is null && body["primary"] is null && body["fallbacks"] is null && body["prohibited"] is null)
            {
                throw new CliUsageException("nothing to propose: give at least one of --mode, --primary, --fallback, --prohibit");
            }

            return AdminRequest.Post($"/classes/{target}/proposals", body);
        }, RenderProposal);
        return propose;
    }

    private static Command Decide(CliRunner run, string verb)
    {
        var id = Argument("ID", "The proposal id.");
        var reject = verb == "reject";
        var reason = Text("--reason", reject ? "Why (required; audited)." : "Why (optional; audited).", required: reject);
        var command = Command(verb, reject
            ? "Reject a pending proposal (policy-approver or compliance-approver)."
            : "Approve a pending proposal (policy-approver, or compliance-approver for a regulated class; not the proposer).", id, reason);
        run.Call(command, p =>
        {
            var target = AdminRequest.Segment(CliInput.Id(p.GetValue(id), "ID"));
            var why = p.GetValue(reason);
            return AdminRequest.Post($"/proposals/{target}/{verb}", new JsonObject
            {
                ["reason"] = reject ? CliInput.Reason(why) : why is null ? null : CliInput.Reason(why),
            });
        }, RenderProposal);
        return command;
    }

    private static Command List(CliRunner run)
    {
        var state = Text("--state", $"Only proposals in this state: {string.Join(", ", States)}.");
        var name = Text("--class", "Only proposals for this class.");
        var list = Command("list", "Proposals of every class (or one), oldest first per class, in fleet order.", state, name);
        run.Call(list, p => AdminRequest.Get("/proposals",
                ("state", p.GetValue(state) is { } s ? CliInput.OneOf(s, "--state", States) : null),
                ("class", p.GetValue(name) is { } c ? CliInput.Id(c, "--class") : null)),
            (json, t) => t.List(json, "proposals", "id", "class", "state", "policy.mode", "policy.primary", "policy.fallbacks", "proposedBy", "approvals",
                "requires", "appliedVersion", "reason", "createdAt"));
        return list;
    }

    private static Command Show(CliRunner run)
    {
        var id = Argument("ID", "The proposal id.");
        var show = Command("show", "One proposal: the policy it would apply, approvals, what it still requires.", id);
        run.Call(show, p => AdminRequest.Get($"/proposals/{AdminRequest.Segment(CliInput.Id(p.GetValue(id), "ID"))}"), RenderProposal);
        return show;
    }

    private static Command History(CliRunner run)
    {
        var name = Argument("CLASS", "The workload class.");
        var history = Command("history", "The numbered policy versions a class has had, who proposed and approved each.", name);
        run.Call(history, p => AdminRequest.Get($"/classes/{Class(p, name)}/policy/history"),
            (json, t) => t.List(json, "policy history", "version", "appliedAt", "proposalId", "proposedBy", "approvedBy", "policy.mode", "policy.primary",
                "policy.fallbacks", "policy.prohibited"));
        return history;
    }

    private static Command Revert(CliRunner run)
    {
        var name = Argument("CLASS", "The workload class.");
        var reason = Reason();
        var evalRef = Text("--eval-ref", "The eval that supports the revert.");
        var revert = Command("revert", "Propose going back to the previous policy version (itself a two-person change).", name, reason, evalRef);
        run.Call(revert, p => AdminRequest.Post($"/classes/{Class(p, name)}/revert", new JsonObject
        {
            ["reason"] = CliInput.Reason(p.GetValue(reason)),
            ["evalRef"] = p.GetValue(evalRef) is { } e ? CliInput.Text(e, "--eval-ref") : null,
        }), RenderProposal);
        return revert;
    }

    private static string Class(ParseResult parse, Argument<string> name) => AdminRequest.Segment(CliInput.Id(parse.GetValue(name), "CLASS"));
}
