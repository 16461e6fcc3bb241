using System.Text.Json;
using ControlPlane.Service.Audit;
using ControlPlane.Service.Governance;
using ControlPlane.Service.FleetReload;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace ControlPlane.Service.Admin;

/// <summary>The admin API on HTTP/JSON under <c>/admin/v1</c>. Errors are <c>application/problem+json</c> with
/// the offending field in <c>field</c> and <c>errors</c>; every route names the roles that may call it (RequireRoles).</summary>
internal static class AdminHttpApi
{
    private const int MaxBodyBytes = 64 * 1024;

    // Strict: a duplicate key is an error (which of the two would apply is not for a parser to guess), and nesting is
    // shallow (no admin body needs more than three levels).
    private static readonly JsonDocumentOptions StrictJson = new() { AllowDuplicateProperties = false, MaxDepth = 8 };

    /// <summary>Maps the admin routes.</summary>
    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/admin/v1").WithTags("admin");
        group.AddEndpointFilter(async (context, next) =>
        {
            try
            {
                return await next(context);
            }
            catch (AdminException error)
            {
                return Problem(error);
            }
            catch (Exception error) when (GrainCallFailure.IsUnavailable(error))
            {
                // The grain behind the request is unreachable right now (node starting or stopping, owner moving):
                // nothing was changed that the caller cannot retry.
                return Results.Problem(detail: error.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Unavailable");
            }
        });

        group.MapFleetReload();
        Alerting.AlertHttpApi.MapAlerts(group);
        group.MapGet("/fleet", (AdminOperations ops) => ops.GetFleetAsync())
            .RequireRoles(Roles.Viewer).WithName("GetFleet").WithSummary("Endpoints and workload classes with live state.");
        group.MapGet("/endpoints/{id}", (string id, AdminOperations ops) => ops.GetEndpointAsync(id))
            .RequireRoles(Roles.Viewer).WithName("GetEndpoint").WithSummary("Breaker state and reason, override, health figures, quota levels, lease holders.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/classes/{name}", (string name, AdminOperations ops) => ops.GetClassAsync(name))
            .RequireRoles(Roles.Viewer).WithName("GetClass").WithSummary("Policy, error budgets and alerts of a workload class.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/endpoints/{id}/breaker", async (string id, HttpRequest request, AdminOperations ops) =>
            {
                var body = await ReadObjectAsync(request, ["state", "reason", "ttlSeconds"]);
                var command = new BreakerCommand(String(body, "state") ?? "", String(body, "reason") ?? "", Integer(body, "ttlSeconds"));
                return await ops.SetBreakerAsync(id, command, AdminActors.FromHttp(request.HttpContext));
            })
            .RequireRoles(Roles.Operator).WithName("SetBreaker").WithSummary("Force the breaker open or closed, or hand it back to the automatic rules (auto).")
            .Accepts<BreakerCommand>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/endpoints/{id}/drain", async (string id, HttpRequest request, AdminOperations ops) =>
            {
                var body = await ReadObjectAsync(request, ["reason", "ttlSeconds"]);
                return await ops.DrainAsync(id, new DrainCommand(String(body, "reason") ?? "", Integer(body, "ttlSeconds")), AdminActors.FromHttp(request.HttpContext));
            })
            .RequireRoles(Roles.Operator).WithName("Drain").WithSummary("Take the endpoint out of rotation (in-flight requests finish).")
            .Accepts<DrainCommand>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/endpoints/{id}/undrain", async (string id, HttpRequest request, AdminOperations ops) =>
            {
                var body = await ReadObjectAsync(request, ["reason"]);
                return await ops.UndrainAsync(id, new DrainCommand(String(body, "reason") ?? "", null), AdminActors.FromHttp(request.HttpContext));
            })
            .RequireRoles(Roles.Operator).WithName("Undrain").WithSummary("Put a drained endpoint back into rotation.")
            .Accepts<DrainCommand>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/audit", (HttpRequest request, AdminOperations ops) => ops.QueryAuditAsync(AuditQueries.FromQueryString(request.Query, paged: true)))
            .WithName("GetAudit").WithSummary("Admin changes, newest first, hash-chained; ?limit=&before=&since=&until=&actor=&target=&action=; next is the before of the next page.")
            .Produces<AuditPage>().ProducesProblem(StatusCodes.Status400BadRequest).RequireRoles(Roles.Viewer);
        group.MapGet("/audit/verify", (AdminOperations ops) => ops.VerifyAuditAsync())
            .WithName("VerifyAudit").WithSummary("Walks the whole stored trail; reports the first missing, edited or unlinked entry.")
            .Produces<AuditVerification>().RequireRoles(Roles.Viewer);
        group.MapGet("/audit/export", (HttpRequest request, AdminOperations ops) =>
                new AuditExportResult(ops.ExportAudit(AuditQueries.FromQueryString(request.Query, paged: false), request.HttpContext.RequestAborted)))
            .WithName("ExportAudit").WithSummary("Every matching entry as JSON lines, oldest first (?since=&until=&actor=&target=&action=).")
            .Produces(StatusCodes.Status200OK, contentType: AuditExportResult.ContentType).ProducesProblem(StatusCodes.Status400BadRequest)
            .RequireRoles(Roles.Viewer);
        group.MapGet("/catalog", (Catalog.CatalogOperations ops) => ops.GetCatalogAsync())
            .RequireRoles(Roles.Viewer)
            .WithName("GetCatalog").WithSummary("Every endpoint: owner team, on-call, pinned version, price, limits, dependent classes, deprecation, model-change status.");
        group.MapGet("/catalog/{id}", (string id, Catalog.CatalogOperations ops) => ops.GetEntryAsync(id))
            .RequireRoles(Roles.Viewer)
            .WithName("GetCatalogEntry").WithSummary("One endpoint's catalog entry.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/endpoints/{id}/model-change/ack", async (string id, HttpRequest request, Catalog.CatalogOperations ops) =>
            {
                var body = await ReadObjectAsync(request, ["reason"]);
                return await ops.AcknowledgeModelChangeAsync(id, String(body, "reason"), AdminActors.FromHttp(request.HttpContext));
            })
            .RequireRoles(Roles.Operator)
            .WithName("AcknowledgeModelChange").WithSummary("Acknowledge a silent model change: clears its alert and the drain it set.")
            .Accepts<DrainCommand>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPolicyGovernance();
        Alerting.Delivery.AlertDeliveryHttpApi.MapAlertDeliveries(group);
        return group;
    }

    internal static IResult Problem(AdminException error)
    {
        var (status, title) = error.Kind switch
        {
            AdminErrorKind.NotFound => (StatusCodes.Status404NotFound, "Not found"),
            AdminErrorKind.Conflict => (StatusCodes.Status409Conflict, "Conflict"),
            AdminErrorKind.VersionConflict => (StatusCodes.Status409Conflict, "Version conflict"),
            AdminErrorKind.Forbidden => (StatusCodes.Status403Forbidden, "Forbidden"),
            _ => (StatusCodes.Status400BadRequest, "Invalid request"),
        };
        return Results.Problem(
            detail: error.Message,
            statusCode: status,
            title: title,
            extensions: new Dictionary<string, object?>
            {
                ["field"] = error.Field,
                ["errors"] = new Dictionary<string, string[]> { [error.Field] = [error.Detail] },
            });
    }

    internal static async Task<JsonElement> ReadObjectAsync(HttpRequest request, string[] allowed)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            throw new AdminException(AdminErrorKind.Invalid, "body", $"must be at most {MaxBodyBytes} bytes");
        }

        // The limit holds for chunked bodies too (no Content-Length): Kestrel stops reading past it.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, StrictJson, request.HttpContext.RequestAborted);
        }
        catch (JsonException error)
        {
            var where = error.LineNumber is { } line ? $" at line {line + 1}, byte {error.BytePositionInLine + 1}" : "";
            throw new AdminException(AdminErrorKind.Invalid, "body", $"malformed JSON{where}: {error.Message.Split(" Path:")[0].Split(" LineNumber:")[0]}");
        }
        catch (BadHttpRequestException error) when (error.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new AdminException(AdminErrorKind.Invalid, "body", $"must be at most {MaxBodyBytes} bytes");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new AdminException(AdminErrorKind.Invalid, "body", "must be a JSON object");
            }

            foreach (var property in root.EnumerateObject())
            {
                if (!allowed.Contains(property.Name, StringComparer.Ordinal))
                {
                    throw new AdminException(AdminErrorKind.Invalid, property.Name, $"unknown field; expected {string.Join(", ", allowed)}");
                }
            }

            return root.Clone();
        }
    }

    internal static string? String(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? Text(value, name)
            : throw new AdminException(AdminErrorKind.Invalid, name, "must be a string");
    }

    // A JSON string may escape a lone surrogate ("\ud800"), which is valid JSON but not text.
    private static string Text(JsonElement value, string field)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new AdminException(AdminErrorKind.Invalid, field, "must be valid Unicode text (valid UTF-8, no unpaired surrogate escapes)");
        }
    }

    internal static List<string>? Strings(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new AdminException(AdminErrorKind.Invalid, name, "must be an array of endpoint ids");
        }

        var list = new List<string>();
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            list.Add(item.ValueKind == JsonValueKind.String
                ? Text(item, $"{name}[{index}]")
                : throw new AdminException(AdminErrorKind.Invalid, $"{name}[{index}]", "must be a string endpoint id"));
            index++;
        }

        return list;
    }

    // Each item is an endpoint id, or {"endpointId": "...", "evalScore": 0.92}.
    internal static List<FallbackView>? Fallbacks(JsonElement body)
    {
        if (!body.TryGetProperty("fallbacks", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new AdminException(AdminErrorKind.Invalid, "fallbacks", "must be an array of endpoint ids or {endpointId, evalScore} objects");
        }

        var list = new List<FallbackView>();
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            var field = $"fallbacks[{index++}]";
            if (item.ValueKind == JsonValueKind.String)
            {
                list.Add(new FallbackView(Text(item, field), null));
                continue;
            }

            if (item.ValueKind != JsonValueKind.Object)
            {
                throw new AdminException(AdminErrorKind.Invalid, field, "must be an endpoint id or an {endpointId, evalScore} object");
            }

            string? id = null;
            double? score = null;
            foreach (var property in item.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "endpointId" when property.Value.ValueKind == JsonValueKind.String:
                        id = Text(property.Value, $"{field}.endpointId");
                        break;
                    case "evalScore" when property.Value.ValueKind == JsonValueKind.Number:
                        score = property.Value.TryGetDouble(out var number) && double.IsFinite(number)
                            ? number
                            : throw new AdminException(AdminErrorKind.Invalid, $"{field}.evalScore", "must be a finite number");
                        break;
                    case "evalScore" when property.Value.ValueKind == JsonValueKind.Null:
                        break;
                    case "endpointId" or "evalScore":
                        throw new AdminException(AdminErrorKind.Invalid, $"{field}.{property.Name}", property.Name == "endpointId" ? "must be a string" : "must be a number");
                    default:
                        throw new AdminException(AdminErrorKind.Invalid, $"{field}.{property.Name}", "unknown field; expected endpointId, evalScore");
                }
            }

            list.Add(new FallbackView(id ?? throw new AdminException(AdminErrorKind.Invalid, $"{field}.endpointId", "is required"), score));
        }

        return list;
    }

    internal static long? Integer(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)
            ? number
            : throw new AdminException(AdminErrorKind.Invalid, name, name == "ttlSeconds" ? "must be an integer number of seconds" : "must be an integer");
    }
}
