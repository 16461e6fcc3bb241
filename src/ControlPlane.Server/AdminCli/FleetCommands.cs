using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using static ControlPlane.Server.AdminCli.CliSymbols;

namespace ControlPlane.Server.AdminCli;

/// <summary><c>fleet show</c>, <c>fleet reload</c>, <c>class show</c>, <c>catalog [ID]</c>, <c>whoami</c>.</summary>
internal static class FleetCommands
{
    /// <summary>The fleet command with its subcommands.</summary>
    public static Command Fleet(CliRunner run)
    {
        var show = Command("show", "Endpoints (breaker, override) and workload classes (mode, primaries, budgets) with live state.");
        run.Call(show, _ => AdminRequest.Get("/fleet"), RenderFleet);

        var reason = Reason();
        var reload = Command("reload", "Re-read the fleet file: validated completely, then applied as one versioned change (admin).", reason);
        run.Call(reload, p => AdminRequest.Post("/fleet/reload", new JsonObject { ["reason"] = CliInput.Reason(p.GetValue(reason)) }),
            (json, t) =>
            {
                t.Line($"Fleet reloaded: version {CliTables.Text(json, "version")} from {CliTables.Text(json, "source")}");
                t.List(CliTables.Member(json, "changes"), "changes");
            });
        return Command("fleet", "The fleet: show it, reload its file.", show, reload);
    }

    /// <summary><c>class show NAME</c>.</summary>
    public static Command Class(CliRunner run)
    {
        var name = Argument("NAME", "The workload class.");
        var show = Command("show", "A workload class's policy, error budgets and alerts.", name);
        run.Call(show, p => AdminRequest.Get($"/classes/{AdminRequest.Segment(CliInput.Id(p.GetValue(name), "NAME"))}"),
            (json, t) => t.Details(json, $"class {CliTables.Text(json, "name")}"));
        return Command("class", "Workload classes.", show);
    }

    /// <summary><c>catalog [ID]</c>.</summary>
    public static Command Catalog(CliRunner run)
    {
        var id = new Argument<string?>("ID") { Description = "One endpoint (omit for all).", Arity = ArgumentArity.ZeroOrOne };
        var catalog = Command("catalog", "Owner, on-call, pinned model version, price, limits, dependent classes and deprecation of each endpoint.", id);
        run.Call(catalog, p => p.GetValue(id) is { } one
                ? AdminRequest.Get($"/catalog/{AdminRequest.Segment(CliInput.Id(one, "ID"))}")
                : AdminRequest.Get("/catalog"),
            (json, t) =>
            {
                if (json.ValueKind == JsonValueKind.Array)
                {
                    t.List(json, "catalog", "id", "provider", "model", "modelVersion", "region", "ownerTeam", "onCall", "primaryOf", "fallbackOf",
                        "deprecation.date", "deprecation.notice", "modelChange.observed");
                }
                else
                {
                    t.Details(json, $"endpoint {CliTables.Text(json, "id")}");
                }
            });
        return catalog;
    }

    /// <summary><c>whoami</c>.</summary>
    public static Command WhoAmI(CliRunner run)
    {
        var whoami = Command("whoami", "The principal, roles and credential the node sees for your credential.");
        run.Call(whoami, _ => AdminRequest.Get("/whoami"), (json, t) => t.Details(json, "whoami"));
        return whoami;
    }

    private static void RenderFleet(JsonElement json, CliTables t)
    {
        t.Line($"Fleet {CliTables.Text(json, "name") ?? "(unnamed)"} {CliTables.Text(json, "version")} from {CliTables.Text(json, "source")}, loaded {CliTables.Text(json, "loadedAt")}");
        t.List(CliTables.Member(json, "endpoints"), "endpoints", "id", "provider", "model", "modelVersion", "region", "breaker.state", "breaker.reason",
            "override.kind", "override.actor", "override.expiresAt");
        t.List(CliTables.Member(json, "classes"), "classes", "name", "mode", "priority", "primary", "fallbacks", "prohibited",
            "availability.remaining", "fallbackRate5m", "version");
        if (CliTables.Member(json, "deprecations") is { ValueKind: JsonValueKind.Array } deprecations && deprecations.GetArrayLength() > 0)
        {
            t.List(deprecations, "deprecations");
        }
    }
}
