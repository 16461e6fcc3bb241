using System.Text.Json;
using ControlPlane.Service.Admin;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ControlPlane.Service.Security;

/// <summary>The key routes of the admin API (<c>admin</c> role) and <c>GET /whoami</c> (any authenticated caller).</summary>
internal static class KeysHttpApi
{
    /// <summary>Maps the routes on the admin group (its filter turns <see cref="AdminException"/> into problem+json).</summary>
    public static RouteGroupBuilder MapKeysApi(this RouteGroupBuilder group)
    {
        group.MapPost("/keys", async (HttpRequest request, KeyOperations keys) =>
            {
                var body = await AdminHttpApi.ReadObjectAsync(request, ["name", "roles", "ttlSeconds", "reason"]);
                var created = await keys.CreateAsync(AdminHttpApi.String(body, "name"), RoleList(body), AdminHttpApi.Integer(body, "ttlSeconds"),
                    AdminHttpApi.String(body, "reason"), AdminActors.FromHttp(request.HttpContext));
                return Results.Created($"/admin/v1/keys/{created.Id}", created);
            })
            .RequireRoles(Roles.Admin)
            .WithName("CreateKey").WithSummary("Create an API key with roles; its token is in this answer only.")
            .Accepts<KeyCommand>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/keys", (KeyOperations keys) => keys.ListAsync())
            .RequireRoles(Roles.Admin)
            .WithName("ListKeys").WithSummary("Every API key (revoked ones too), without secrets.");
        group.MapPost("/keys/{id}/revoke", async (string id, HttpRequest request, KeyOperations keys) =>
            {
                var body = await AdminHttpApi.ReadObjectAsync(request, ["reason"]);
                return await keys.RevokeAsync(id, AdminHttpApi.String(body, "reason"), AdminActors.FromHttp(request.HttpContext));
            })
            .RequireRoles(Roles.Admin)
            .WithName("RevokeKey").WithSummary("Revoke an API key: every node refuses it within the propagation bound.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/whoami", (HttpContext context) => AdminActors.WhoAmI(context.User))
            .WithName("WhoAmI").WithSummary("The caller as authenticated: principal, roles, credential id, kind.");
        return group;
    }

    private static List<string>? RoleList(JsonElement body)
    {
        if (!body.TryGetProperty("roles", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new AdminException(AdminErrorKind.Invalid, "roles", "must be an array of role names");
        }

        var list = new List<string>();
        foreach (var item in value.EnumerateArray())
        {
            if (list.Count >= Roles.All.Count)
            {
                throw new AdminException(AdminErrorKind.Invalid, "roles", $"must list at most {Roles.All.Count} roles");
            }

            list.Add(item.ValueKind == JsonValueKind.String ? item.GetString() ?? ""
                : throw new AdminException(AdminErrorKind.Invalid, $"roles[{list.Count}]", "must be a role name"));
        }

        return list;
    }
}

/// <summary>The body of <c>POST /admin/v1/keys</c>.</summary>
/// <param name="Name">Who or what holds the key (letters, digits, <c>. _ - @ :</c>; at most 64).</param>
/// <param name="Roles">The roles it grants.</param>
/// <param name="TtlSeconds">Lifetime; omitted: no expiry.</param>
/// <param name="Reason">Why it is created (audited).</param>
public sealed record KeyCommand(string Name, string[] Roles, long? TtlSeconds, string Reason);
