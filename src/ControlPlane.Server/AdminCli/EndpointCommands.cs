using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using static ControlPlane.Server.AdminCli.CliSymbols;

namespace ControlPlane.Server.AdminCli;

/// <summary><c>endpoint show|force|drain|undrain|ack-model-change</c>.</summary>
internal static class EndpointCommands
{
    /// <summary>The endpoint command with its subcommands.</summary>
    public static Command Build(CliRunner run) =>
        Command("endpoint", "One provider endpoint: show it, force its breaker, drain it.", Show(run), Force(run), Drain(run), Undrain(run), AckModelChange(run));

    /// <summary>An endpoint's breaker, override and the figures behind them, as one block.</summary>
    public static void Render(JsonElement json, CliTables t)
    {
        var state = CliTables.Text(json, "breaker.state");
        var overrideKind = CliTables.Text(json, "override.kind");
        t.Line($"endpoint {CliTables.Text(json, "id")}: breaker {state} ({CliTables.Text(json, "breaker.reason")}, automatic {CliTables.Text(json, "breaker.automaticState")})" +
            (overrideKind is null ? "" : $"; override {overrideKind} by {CliTables.Text(json, "override.actor")}" +
                (CliTables.Text(json, "override.expiresAt") is { } until ? $" until {until}" : "") +
                $": {CliTables.Text(json, "override.reason")}"));
        t.Details(json);
    }

    private static Command Show(CliRunner run)
    {
        var id = Argument("ID", "The endpoint id.");
        var show = Command("show", "Breaker state and reason, override, health figures, quota levels, lease holders.", id);
        run.Call(show, p => AdminRequest.Get($"/endpoints/{Id(p, id)}"), Render);
        return show;
    }

    private static Command Force(CliRunner run)
    {
        var id = Argument("ID", "The endpoint id.");
        var state = Text("--state", "open, closed, or auto (hand it back to the automatic rules).", required: true);
        var reason = Reason();
        var ttl = Ttl("The override");
        var force = Command("force", "Force the breaker open or closed, or back to auto (operator).", id, state, reason, ttl);
        run.Call(force, p =>
        {
            var target = Id(p, id);
            var to = CliInput.OneOf(p.GetValue(state) ?? "", "--state", "open", "closed", "auto");
            var seconds = CliInput.TtlSeconds(p.GetValue(ttl));
            if (to == "auto" && seconds is not null)
            {
                throw new CliUsageException("--ttl does not apply to --state auto");
            }

            return AdminRequest.Post($"/endpoints/{target}/breaker",
                new JsonObject { ["state"] = to, ["reason"] = CliInput.Reason(p.GetValue(reason)), ["ttlSeconds"] = seconds });
        }, Render);
        return force;
    }

    private static Command Drain(CliRunner run)
    {
        var id = Argument("ID", "The endpoint id.");
        var reason = Reason();
        var ttl = Ttl("The drain");
        var drain = Command("drain", "Take the endpoint out of rotation; in-flight requests finish (operator).", id, reason, ttl);
        run.Call(drain, p => AdminRequest.Post($"/endpoints/{Id(p, id)}/drain",
            new JsonObject { ["reason"] = CliInput.Reason(p.GetValue(reason)), ["ttlSeconds"] = CliInput.TtlSeconds(p.GetValue(ttl)) }), Render);
        return drain;
    }

    private static Command Undrain(CliRunner run)
    {
        var id = Argument("ID", "The endpoint id.");
        var reason = Reason();
        var undrain = Command("undrain", "Put a drained endpoint back into rotation (operator).", id, reason);
        run.Call(undrain, p => AdminRequest.Post($"/endpoints/{Id(p, id)}/undrain",
            new JsonObject { ["reason"] = CliInput.Reason(p.GetValue(reason)) }), Render);
        return undrain;
    }

    private static Command AckModelChange(CliRunner run)
    {
        var id = Argument("ID", "The endpoint id.");
        var reason = Reason();
        var ack = Command("ack-model-change", "Acknowledge an observed model-version change (ends the alert; undrains an endpoint drained by it).", id, reason);
        run.Call(ack, p => AdminRequest.Post($"/endpoints/{Id(p, id)}/model-change/ack",
            new JsonObject { ["reason"] = CliInput.Reason(p.GetValue(reason)) }), (json, t) => t.Details(json, "model change acknowledged"));
        return ack;
    }

    private static string Id(ParseResult parse, Argument<string> id) => AdminRequest.Segment(CliInput.Id(parse.GetValue(id), "ID"));
}
