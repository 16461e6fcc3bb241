using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using static ControlPlane.Server.AdminCli.CliSymbols;

namespace ControlPlane.Server.AdminCli;

/// <summary><c>audit list|verify|export</c>.</summary>
internal static class AuditCommands
{
    /// <summary>Largest page <c>audit list --limit</c> asks for (the API's own bound).</summary>
    public const int MaxLimit = 1000;

    /// <summary>The audit command with its subcommands.</summary>
    public static Command Build(CliRunner run) =>
        Command("audit", "The tamper-evident audit trail: list, verify the hash chain, export.", List(run), Verify(run), Export(run));

    private static Command List(CliRunner run)
    {
        var limit = new Option<int?>("--limit") { Description = $"Entries per page (1..{MaxLimit}; the API's default when omitted)." };
        var before = new Option<long?>("--before") { Description = "Page cursor: entries older than this sequence (the 'next' of the previous page)." };
        var filters = new Filters();
        var list = Command("list", "Audit entries, newest first, one page.", limit, before, filters.Since, filters.Until, filters.Actor, filters.Target, filters.Action);
        run.Call(list, p =>
        {
            var take = p.GetValue(limit);
            if (take is < 1 or > MaxLimit)
            {
                throw new CliUsageException($"--limit: must be between 1 and {MaxLimit}");
            }

            var cursor = p.GetValue(before);
            if (cursor is < 1)
            {
                throw new CliUsageException("--before: must be a sequence number of 1 or more");
            }

            return AdminRequest.Get("/audit", [
                ("limit", take?.ToString(CultureInfo.InvariantCulture)),
                ("before", cursor?.ToString(CultureInfo.InvariantCulture)),
                .. filters.Query(p, run.Time)]);
        }, RenderEntries);
        return list;
    }

    private static Command Verify(CliRunner run)
    {
        var verify = Command("verify", "Recompute the hash chain; exit code 5 and the first broken link when an entry was edited or removed.");
        run.Call(verify, _ => AdminRequest.Get("/audit/verify"), (json, t) =>
        {
            if (Intact(json))
            {
                t.Line($"audit chain intact: {CliTables.Text(json, "entries")} entries, head {CliTables.Text(json, "head")}");
            }
            else
            {
                t.Line($"audit chain BROKEN at sequence {CliTables.Text(json, "firstBroken.sequence")}: {CliTables.Text(json, "firstBroken.reason")}");
            }
        }, json => Intact(json) ? CliExit.Ok : CliExit.AuditBroken);
        return verify;
    }

    private static Command Export(CliRunner run)
    {
        var output = Text("--out", "Write to this file instead of the output.");
        var filters = new Filters();
        var export = Command("export", "Every matching entry, oldest first, as JSON lines.", output, filters.Since, filters.Until, filters.Actor, filters.Target, filters.Action);
        run.Stream(export, p => AdminRequest.Get("/audit/export", [.. filters.Query(p, run.Time)]), p => p.GetValue(output));
        return export;
    }

    private static bool Intact(JsonElement json) => CliTables.Member(json, "ok").ValueKind == JsonValueKind.True;

    // The API answers {entries, next}; a node from before paging answers a bare array.
    private static void RenderEntries(JsonElement json, CliTables t)
    {
        var entries = json.ValueKind == JsonValueKind.Array ? json : CliTables.Member(json, "entries");
        t.List(entries, "audit", "sequence", "at", "actor.principal", "action", "target", "reason", "before", "after", "evalRef");
        if (CliTables.Text(json, "next") is { } next)
        {
            t.Line($"more: --before {next}");
        }
    }

    /// <summary>The filters list and export share.</summary>
    private sealed class Filters
    {
        public Option<string?> Since { get; } = Text("--since", "From this time: ISO 8601 (2026-12-06T15:00:00Z) or a duration ago (2h).");

        public Option<string?> Until { get; } = Text("--until", "Up to this time: ISO 8601 or a duration ago.");

        public Option<string?> Actor { get; } = Text("--actor", "Only entries by this principal.");

        public Option<string?> Target { get; } = Text("--target", "Only entries about this target (endpoint, class, key, proposal).");

        public Option<string?> Action { get; } = Text("--action", "Only entries of this action (e.g. breaker.force_open).");

        public IEnumerable<(string, string?)> Query(ParseResult parse, TimeProvider time) =>
        [
            ("since", CliInput.Time(parse.GetValue(Since), "--since", time)),
            ("until", CliInput.Time(parse.GetValue(Until), "--until", time)),
            ("actor", parse.GetValue(Actor) is { } actor ? CliInput.Text(actor, "--actor") : null),
            ("target", parse.GetValue(Target) is { } target ? CliInput.Text(target, "--target") : null),
            ("action", parse.GetValue(Action) is { } action ? CliInput.Text(action, "--action") : null),
        ];
    }
}
