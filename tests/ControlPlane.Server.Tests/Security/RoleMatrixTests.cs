using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Server.Tests.Grpc;
using ControlPlane.Server.Tests.Support;
using ControlPlane.Service.Security;

namespace ControlPlane.Server.Tests.Security;

/// <summary>Every admin route and every gRPC method against every role: a role the action names passes authorization
/// (the call then fails on its deliberately invalid input or reads), every other role gets 403 / PERMISSION_DENIED, no
/// credential gets 401 / UNAUTHENTICATED; and none of it changes anything.</summary>
public sealed class RoleMatrixTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly string[] Any = [.. Roles.All];

    private static readonly string[] Approvers = [Roles.PolicyApprover, Roles.ComplianceApprover];

    private static readonly string[] PolicyReaders = [Roles.Viewer, Roles.PolicyAuthor, Roles.PolicyApprover, Roles.ComplianceApprover];

    private ControlPlaneNode Node => fixture.Node;

    /// <summary>(name, port, verb or gRPC, path, body, roles allowed).</summary>
    public static TheoryData<string> Actions => new(Table.Keys);

    private static readonly Dictionary<string, (bool Grpc, bool AdminPort, string Method, string Path, string Body, string[] Allowed)> Table = new()
    {
        ["GET fleet"] = (false, true, "GET", "admin/v1/fleet", "", [Roles.Viewer]),
        ["GET endpoint"] = (false, true, "GET", "admin/v1/endpoints/openai-gpt4o-us", "", [Roles.Viewer]),
        ["GET class"] = (false, true, "GET", "admin/v1/classes/customer_chat", "", [Roles.Viewer]),
        ["GET audit"] = (false, true, "GET", "admin/v1/audit", "", [Roles.Viewer]),
        ["GET audit verify"] = (false, true, "GET", "admin/v1/audit/verify", "", [Roles.Viewer]),
        ["GET audit export"] = (false, true, "GET", "admin/v1/audit/export", "", [Roles.Viewer]),
        ["GET alerts"] = (false, true, "GET", "admin/v1/alerts", "", [Roles.Viewer]),
        ["POST breaker"] = (false, true, "POST", "admin/v1/endpoints/openai-gpt4o-us/breaker", "{}", [Roles.Operator]),
        ["POST drain"] = (false, true, "POST", "admin/v1/endpoints/openai-gpt4o-us/drain", "{}", [Roles.Operator]),
        ["POST undrain"] = (false, true, "POST", "admin/v1/endpoints/openai-gpt4o-us/undrain", "{}", [Roles.Operator]),
        ["POST proposals"] = (false, true, "POST", "admin/v1/classes/customer_chat/proposals", "{}", [Roles.PolicyAuthor]),
        ["GET proposals"] = (false, true, "GET", "admin/v1/proposals", "", PolicyReaders),
        ["GET proposal"] = (false, true, "GET", "admin/v1/proposals/customer_chat~999", "", PolicyReaders),
        ["POST approve"] = (false, true, "POST", "admin/v1/proposals/customer_chat~999/approve", "{}", Approvers),
        ["POST reject"] = (false, true, "POST", "admin/v1/proposals/customer_chat~999/reject", "{}", Approvers),
        ["GET policy history"] = (false, true, "GET", "admin/v1/classes/customer_chat/policy/history", "", PolicyReaders),
        ["POST revert"] = (false, true, "POST", "admin/v1/classes/customer_chat/revert", "{}", [Roles.PolicyAuthor]),
        ["POST break-glass"] = (false, true, "POST", "admin/v1/classes/customer_chat/break-glass", "{}", [Roles.Operator]),
        ["POST break-glass clear"] = (false, true, "POST", "admin/v1/classes/customer_chat/break-glass/clear", "{}", [Roles.Operator]),
        ["GET break-glass"] = (false, true, "GET", "admin/v1/break-glass", "", [Roles.Viewer, Roles.Operator, Roles.PolicyApprover]),
        ["POST break-glass review"] = (false, true, "POST", "admin/v1/break-glass/customer_chat~bg999/review", "{}", [Roles.PolicyApprover]),
        ["POST keys"] = (false, true, "POST", "admin/v1/keys", "{}", [Roles.Admin]),
        ["GET keys"] = (false, true, "GET", "admin/v1/keys", "", [Roles.Admin]),
        ["POST revoke"] = (false, true, "POST", "admin/v1/keys/abcdefabcdef/revoke", "{}", [Roles.Admin]),
        ["POST fleet reload"] = (false, true, "POST", "admin/v1/fleet/reload", "{}", [Roles.Admin]),
        ["GET whoami"] = (false, true, "GET", "admin/v1/whoami", "", Any),
        ["GET openapi"] = (false, true, "GET", "openapi/v1.json", "", Any),
        ["Admin/GetFleet"] = (true, true, "", "/controlplane.v1.Admin/GetFleet", "", [Roles.Viewer]),
        ["Admin/GetEndpoint"] = (true, true, "", "/controlplane.v1.Admin/GetEndpoint", "", [Roles.Viewer]),
        ["Admin/GetClass"] = (true, true, "", "/controlplane.v1.Admin/GetClass", "", [Roles.Viewer]),
        ["Admin/ListAudit"] = (true, true, "", "/controlplane.v1.Admin/ListAudit", "", [Roles.Viewer]),
        ["Admin/VerifyAudit"] = (true, true, "", "/controlplane.v1.Admin/VerifyAudit", "", [Roles.Viewer]),
        ["Admin/SetBreaker"] = (true, true, "", "/controlplane.v1.Admin/SetBreaker", "", [Roles.Operator]),
        ["Admin/Drain"] = (true, true, "", "/controlplane.v1.Admin/Drain", "", [Roles.Operator]),
        ["Admin/Undrain"] = (true, true, "", "/controlplane.v1.Admin/Undrain", "", [Roles.Operator]),
        ["Admin/ProposePolicy"] = (true, true, "", "/controlplane.v1.Admin/ProposePolicy", "", [Roles.PolicyAuthor]),
        ["Admin/ApproveProposal"] = (true, true, "", "/controlplane.v1.Admin/ApproveProposal", "", Approvers),
        ["Admin/RejectProposal"] = (true, true, "", "/controlplane.v1.Admin/RejectProposal", "", Approvers),
        ["Admin/ListProposals"] = (true, true, "", "/controlplane.v1.Admin/ListProposals", "", PolicyReaders),
        ["Admin/RevertPolicy"] = (true, true, "", "/controlplane.v1.Admin/RevertPolicy", "", [Roles.PolicyAuthor]),
        ["Admin/BreakGlass"] = (true, true, "", "/controlplane.v1.Admin/BreakGlass", "", [Roles.Operator]),
        ["Admin/ClearBreakGlass"] = (true, true, "", "/controlplane.v1.Admin/ClearBreakGlass", "", [Roles.Operator]),
        ["Routing/Route"] = (true, false, "", "/controlplane.v1.Routing/Route", "", [Roles.DataPlane]),
        ["Routing/ReportOutcome"] = (true, false, "", "/controlplane.v1.Routing/ReportOutcome", "", [Roles.DataPlane, Roles.Reporter]),
        ["Routing/ReportOutcomes"] = (true, false, "", "/controlplane.v1.Routing/ReportOutcomes", "", [Roles.DataPlane, Roles.Reporter]),
        ["Routing/WatchRoutingTable"] = (true, false, "", "/controlplane.v1.Routing/WatchRoutingTable", "", [Roles.DataPlane]),
        ["Reflection"] = (true, false, "", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "", Any),
        ["GET catalog"] = (false, true, "GET", "admin/v1/catalog", "", [Roles.Viewer]),
        ["GET catalog entry"] = (false, true, "GET", "admin/v1/catalog/openai-gpt4o-us", "", [Roles.Viewer]),
        ["POST model-change ack"] = (false, true, "POST", "admin/v1/endpoints/openai-gpt4o-us/model-change/ack", "{}", [Roles.Operator]),
        ["GET alert deliveries"] = (false, true, "GET", "admin/v1/alerts/deliveries", "", [Roles.Viewer]),
        ["POST alert test"] = (false, true, "POST", "admin/v1/alerts/test", "{}", [Roles.Operator]),
        ["Admin/GetCatalog"] = (true, true, "", "/controlplane.v1.Admin/GetCatalog", "", [Roles.Viewer]),
        ["GET dashboard snapshot"] = (false, true, "GET", "admin/v1/dashboard/snapshot", "", [Roles.Viewer]),
        ["GET dashboard history"] = (false, true, "GET", "admin/v1/dashboard/history?minutes=5", "", [Roles.Viewer]),
        ["GET Orleans dashboard"] = (false, true, "GET", "dashboard/", "", [Roles.Viewer]),
    };

    [Theory]
    [MemberData(nameof(Actions))]
    public async Task Only_the_roles_an_action_names_pass_and_refusals_change_nothing(string action)
    {
        var (grpc, adminPort, method, path, body, allowed) = Table[action];
        var before = await FingerprintAsync();

        Assert.Equal(401, await CallAsync(grpc, adminPort, method, path, body, token: null));
        Assert.Equal(401, await CallAsync(grpc, adminPort, method, path, body, token: "cpk_nosuchkey000_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"));
        foreach (var role in Roles.All)
        {
            var status = await CallAsync(grpc, adminPort, method, path, body, await Node.KeyForAsync($"matrix-{role}", role));
            if (allowed.Contains(role))
            {
                Assert.True(status is not 401 and not 403, $"{action} as {role}: refused ({status}) though the role is allowed");
            }
            else
            {
                Assert.True(status == 403, $"{action} as {role}: expected 403, got {status}");
            }
        }

        Assert.Equal(before, await FingerprintAsync());
    }

    [Fact]
    public async Task gRPC_health_answers_without_a_credential_for_probes()
    {
        using var anonymous = new HttpClient
        {
            BaseAddress = Node.GrpcAddress,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        var health = await anonymous.UnaryAsync("/grpc.health.v1.Health/Check", new global::Grpc.Health.V1.HealthCheckRequest());

        Assert.Equal(global::Grpc.Core.StatusCode.OK, health.Status);
    }

    // 401 / 403 for refusals (HTTP status, or UNAUTHENTICATED / PERMISSION_DENIED mapped to them), else the HTTP status
    // or 1000 + the gRPC status: anything but 401/403 means the call got past authorization.
    private async Task<int> CallAsync(bool grpc, bool adminPort, string method, string path, string body, string? token)
    {
        using var client = new HttpClient
        {
            BaseAddress = adminPort ? Node.AdminAddress : Node.GrpcAddress,
            DefaultRequestVersion = grpc ? HttpVersion.Version20 : HttpVersion.Version11,
            DefaultVersionPolicy = grpc ? HttpVersionPolicy.RequestVersionExact : HttpVersionPolicy.RequestVersionOrLower,
        };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (!grpc)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (method == "POST")
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }

            using var response = await client.SendAsync(request);
            return (int)response.StatusCode;
        }

        // Streaming methods would stream on: only the response headers are read (a refusal is Trailers-Only).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var call = GrpcWire.Request(path, GrpcWire.Frame([]));
        using var answer = await client.SendAsync(call, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var status = answer.Headers.TryGetValues("grpc-status", out var values) ? int.Parse(values.Single(), System.Globalization.CultureInfo.InvariantCulture) : 0;
        return status switch
        {
            16 => 401,
            7 => 403,
            _ => 1000 + status,
        };
    }

    // What an admin change would move: the overrides and policies (fleet view) and the changes in the audit trail.
    private async Task<string> FingerprintAsync()
    {
        var fleet = await Node.GetAdminJsonAsync("admin/v1/fleet");
        var overrides = fleet.GetProperty("endpoints").EnumerateArray().Select(e => $"{e.GetProperty("id")}={e.GetProperty("override")}");
        var classes = fleet.GetProperty("classes").EnumerateArray().Select(c => $"{c.GetProperty("name")}={c.GetProperty("version")}");
        var changes = await Node.GetChangesAuditAsync();
        return string.Join("|", overrides.Concat(classes)) + "|" + JsonSerializer.Serialize(changes);
    }
}
