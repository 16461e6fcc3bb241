using System.CommandLine;
using System.Text.Json.Nodes;
using static ControlPlane.Server.AdminCli.CliSymbols;

namespace ControlPlane.Server.AdminCli;

/// <summary><c>break-glass CLASS --mode ...</c>, <c>break-glass clear|list|review</c>: the operator's emergency switch of a
/// class to queue_only or fail, recorded and listed for review.</summary>
internal static class BreakGlassCommands
{
    /// <summary>Modes break-glass may force.</summary>
    public static readonly string[] Modes = ["queue_only", "fail"];

    /// <summary>The break-glass command with its subcommands.</summary>
    public static Command Build(CliRunner run)
    {
        var name = new Argument<string?>("CLASS") { Description = "The workload class to force.", Arity = ArgumentArity.ZeroOrOne };
        var mode = Text("--mode", "queue_only or fail (required with CLASS).");
        var reason = Text("--reason", "Why (required with CLASS; audited).");
        var ttl = Ttl("The break-glass");
        var command = Command("break-glass", "Emergency: force a class to queue_only or fail at once (operator); recorded and listed for review.",
            name, mode, reason, ttl, Clear(run), List(run), Review(run));
        run.Call(command, p =>
        {
            var target = p.GetValue(name) ?? throw new CliUsageException("break-glass: give a CLASS (or one of the subcommands clear, list, review)");
            var body = new JsonObject
            {
                ["mode"] = CliInput.OneOf(p.GetValue(mode) ?? throw new CliUsageException("--mode is required: queue_only or fail"), "--mode", Modes),
                ["reason"] = CliInput.Reason(p.GetValue(reason)),
                ["ttlSeconds"] = CliInput.TtlSeconds(p.GetValue(ttl)),
            };
            return AdminRequest.Post($"/classes/{AdminRequest.Segment(CliInput.Id(target, "CLASS"))}/break-glass", body);
        }, (json, t) => t.Details(json, "break-glass"));
        return command;
    }

    private static Command Clear(CliRunner run)
    {
        var name = Argument("CLASS", "The workload class.");
        var reason = Reason();
        var clear = Command("clear", "End a class's break-glass: its approved policy applies again (operator).", name, reason);
        run.Call(clear, p => AdminRequest.Post($"/classes/{AdminRequest.Segment(CliInput.Id(p.GetValue(name), "CLASS"))}/break-glass/clear",
            new JsonObject { ["reason"] = CliInput.Reason(p.GetValue(reason)) }), (json, t) => t.Details(json, "break-glass cleared"));
        return clear;
    }

    private static Command List(CliRunner run)
    {
        var reviewed = Text("--reviewed", "true: only reviewed ones; false: only those awaiting review.");
        var list = Command("list", "Break-glass uses, for review.", reviewed);
        run.Call(list, p => AdminRequest.Get("/break-glass", ("reviewed", p.GetValue(reviewed) is { } r ? CliInput.OneOf(r, "--reviewed", "true", "false") : null)),
            (json, t) => t.List(json, "break-glass", "id", "class", "mode", "active", "setBy", "reason", "at", "expiresAt", "clearedBy", "clearedAt",
                "reviewed", "reviewedBy", "reviewReason"));
        return list;
    }

    private static Command Review(CliRunner run)
    {
        var id = Argument("ID", "The break-glass record id.");
        var reason = Reason();
        var review = Command("review", "Mark a break-glass use as reviewed (policy-approver; not the operator who set it).", id, reason);
        run.Call(review, p => AdminRequest.Post($"/break-glass/{AdminRequest.Segment(CliInput.Id(p.GetValue(id), "ID"))}/review",
            new JsonObject { ["reason"] = CliInput.Reason(p.GetValue(reason)) }), (json, t) => t.Details(json, "break-glass reviewed"));
        return review;
    }
}
