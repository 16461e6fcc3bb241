using System.CommandLine;
using System.Text.Json.Nodes;
using static ControlPlane.Server.AdminCli.CliSymbols;

namespace ControlPlane.Server.AdminCli;

/// <summary><c>keys create|list|revoke</c> (admin).</summary>
internal static class KeyCommands
{
    /// <summary>The keys command with its subcommands.</summary>
    public static Command Build(CliRunner run, CliContext context) =>
        Command("keys", "API keys (admin): stored hashed, shown once at creation.", Create(run, context), List(run), Revoke(run));

    private static Command Create(CliRunner run, CliContext context)
    {
        var name = Argument("NAME", "The key's name: the principal its calls are recorded as.");
        var roles = Many("--role", "A role the key holds (repeat for several): viewer, operator, policy-author, policy-approver, compliance-approver, admin, data-plane, reporter.", required: true);
        var reason = Reason();
        var ttl = Ttl("The key");
        var create = Command("create", "Create an API key; its secret is printed once and cannot be shown again.", name, roles, reason, ttl);
        run.Call(create, p =>
        {
            var list = new JsonArray();
            foreach (var role in (p.GetValue(roles) ?? []).SelectMany(r => r.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Distinct(StringComparer.Ordinal))
            {
                list.Add(CliInput.Role(role));
            }

            if (list.Count == 0)
            {
                throw new CliUsageException("--role is required: at least one role");
            }

            return AdminRequest.Post("/keys", new JsonObject
            {
                ["name"] = CliInput.Id(p.GetValue(name), "NAME"),
                ["roles"] = list,
                ["ttlSeconds"] = CliInput.TtlSeconds(p.GetValue(ttl)),
                ["reason"] = CliInput.Reason(p.GetValue(reason)),
            });
        }, (json, t) =>
        {
            t.Line($"key {CliTables.Text(json, "id")} for {CliTables.Text(json, "name")} ({CliTables.Text(json, "roles")})" +
                (CliTables.Text(json, "expiresAt") is { } expires ? $", expires {expires}" : ""));
            t.Line(CliTables.Text(json, "key") ?? "");
        }, _ =>
        {
            context.Error.WriteLine("warning: the key is shown only once; store it now (it cannot be read back, only revoked).");
            return CliExit.Ok;
        });
        return create;
    }

    private static Command List(CliRunner run)
    {
        var list = Command("list", "Every key (never the secrets): roles, who created it, expiry, revocation.");
        run.Call(list, _ => AdminRequest.Get("/keys"),
            (json, t) => t.List(json, "keys", "id", "name", "roles", "createdAt", "createdBy", "expiresAt", "revokedAt", "revokedBy"));
        return list;
    }

    private static Command Revoke(CliRunner run)
    {
        var id = Argument("ID", "The key id (the 12 characters after cpk_, as keys list shows).");
        var reason = Reason();
        var revoke = Command("revoke", "Revoke a key: every node refuses it within the propagation bound.", id, reason);
        run.Call(revoke, p =>
        {
            var key = p.GetValue(id) ?? "";
            if (key.StartsWith("cpk_", StringComparison.Ordinal))
            {
                throw new CliUsageException("ID: give the key's id as 'keys list' shows it, not the key itself");
            }

            return AdminRequest.Post($"/keys/{AdminRequest.Segment(CliInput.Id(key, "ID"))}/revoke",
                new JsonObject { ["reason"] = CliInput.Reason(p.GetValue(reason)) });
        }, (json, t) => t.Details(json, "key revoked"));
        return revoke;
    }
}
