using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Service.Security;
using Grpc.Core;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.EndToEnd;

/// <summary>The audit routes over real sockets: paging and filters, verify, the JSON-lines export, and the gRPC twins.</summary>
public sealed class AuditHttpTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cp-audit-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Audit_pages_filter_verify_and_export_as_json_lines_oldest_first()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        // Creating the test keys is audited too: the changes below come after those entries.
        using var alice = await node.AdminAsAsync("alice", Roles.Operator);
        using var bob = await node.AdminAsAsync("bob", Roles.Operator);
        using var viewer = await node.AdminAsAsync("vic", Roles.Viewer);
        var s0 = Sequences(await GetJsonAsync(viewer, "/admin/v1/audit?limit=1")).Single();
        await PostOkAsync(alice, "/admin/v1/endpoints/openai-gpt4o-us/breaker", """{"state":"open","reason":"INC-1"}""");
        await PostOkAsync(bob, "/admin/v1/endpoints/anthropic-sonnet-eu/drain", """{"reason":"INC-2"}""");
        await PostOkAsync(alice, "/admin/v1/endpoints/openai-gpt4o-us/breaker", """{"state":"auto","reason":"INC-1 over"}""");

        var first = await GetJsonAsync(viewer, "/admin/v1/audit?limit=2");
        Assert.Equal(new[] { s0 + 3, s0 + 2 }, Sequences(first));
        Assert.Equal(s0 + 2, first.GetProperty("next").GetInt64());
        var second = await GetJsonAsync(viewer, $"/admin/v1/audit?limit=2&before={s0 + 2}");
        Assert.Equal(new[] { s0 + 1, s0 }, Sequences(second));
        var last = await GetJsonAsync(viewer, $"/admin/v1/audit?limit=1000&before={s0 + 2}");
        Assert.Equal(s0 + 1, Sequences(last).Length);
        Assert.Equal(JsonValueKind.Null, last.GetProperty("next").ValueKind);
        Assert.Equal(new[] { s0 + 2 }, Sequences(await GetJsonAsync(viewer, "/admin/v1/audit?actor=bob")));
        Assert.Equal(new[] { s0 + 3, s0 + 1 }, Sequences(await GetJsonAsync(viewer, "/admin/v1/audit?target=openai-gpt4o-us&since=2000-01-01T00:00:00Z")));
        Assert.Equal(new[] { s0 + 1 }, Sequences(await GetJsonAsync(viewer, "/admin/v1/audit?action=breaker.force_open")));
        Assert.Empty(Sequences(await GetJsonAsync(viewer, "/admin/v1/audit?until=946684800000")));

        var newest = first.GetProperty("entries")[0];
        Assert.Equal("alice", newest.GetProperty("actor").GetProperty("principal").GetString());
        Assert.Equal(first.GetProperty("entries")[1].GetProperty("hash").GetString(), newest.GetProperty("previousHash").GetString());

        var verify = await GetJsonAsync(viewer, "/admin/v1/audit/verify");
        Assert.True(verify.GetProperty("ok").GetBoolean());
        Assert.Equal(s0 + 3, verify.GetProperty("entries").GetInt64());
        Assert.Equal(newest.GetProperty("hash").GetString(), verify.GetProperty("head").GetString());
        Assert.Equal(JsonValueKind.Null, verify.GetProperty("firstBroken").ValueKind);

        using var export = await viewer.GetAsync("/admin/v1/audit/export");
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.Equal("application/x-ndjson", export.Content.Headers.ContentType?.MediaType);
        var lines = (await export.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(1, (int)s0 + 3).Select(i => (long)i), lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("sequence").GetInt64()));
        using var bobsExport = await viewer.GetAsync("/admin/v1/audit/export?actor=bob");
        Assert.Single((await bobsExport.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("/admin/v1/audit?since=yesterday", "since")]
    [InlineData("/admin/v1/audit?limit=5000", "limit")]
    [InlineData("/admin/v1/audit?before=0", "before")]
    [InlineData("/admin/v1/audit?actor=a&actor=b", "actor")]
    [InlineData("/admin/v1/audit?colour=red", "colour")]
    [InlineData("/admin/v1/audit/export?limit=5", "limit")]
    [InlineData("/admin/v1/audit/export?until=soon", "until")]
    public async Task Bad_audit_queries_are_400_problems_naming_the_field(string path, string field)
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        using var viewer = await node.AdminAsAsync("vic", Roles.Viewer);
        using var response = await viewer.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Fact]
    public async Task gRPC_ListAudit_filters_and_pages_and_VerifyAudit_reports_the_head()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        using (var alice = await node.AdminAsAsync("alice", Roles.Operator))
        {
            await PostOkAsync(alice, "/admin/v1/endpoints/openai-gpt4o-us/breaker", """{"state":"open","reason":"INC-1"}""");
            await PostOkAsync(alice, "/admin/v1/endpoints/openai-gpt41-us/breaker", """{"state":"open","reason":"INC-1"}""");
        }

        var page = await node.AdminGrpc.ListAuditAsync(new ListAuditRequest { Limit = 1, Target = "openai-gpt4o-us" });
        var entry = Assert.Single(page.Entries);
        Assert.Equal(("alice", "breaker.force_open"), (entry.Actor, entry.Action));
        Assert.Matches("^[0-9a-f]{64}$", entry.Hash);
        Assert.Empty((await node.AdminGrpc.ListAuditAsync(new ListAuditRequest { Limit = 1, Target = "openai-gpt4o-us", Before = page.Next })).Entries);
        var newest = await node.AdminGrpc.ListAuditAsync(new ListAuditRequest { Limit = 1 });
        Assert.Equal(entry.Sequence + 1, newest.Entries[0].Sequence);
        Assert.Equal(entry.Sequence + 1, newest.Next);
        Assert.Equal(entry.Hash, newest.Entries[0].PreviousHash);

        var verify = await node.AdminGrpc.VerifyAuditAsync(new VerifyAuditRequest());
        Assert.Equal((true, entry.Sequence + 1, newest.Entries[0].Hash, (AuditBreak?)null), (verify.Ok, verify.Entries, verify.Head, verify.FirstBroken));
        var bad = await Assert.ThrowsAsync<RpcException>(async () => await node.AdminGrpc.ListAuditAsync(new ListAuditRequest { Actor = new string('x', 300) }));
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.Contains("actor", bad.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_audit_routes_and_rpcs_are_for_viewers()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        var routes = node.Services.GetServices<EndpointDataSource>().SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.Contains("/audit", StringComparison.Ordinal) == true).ToList();
        Assert.Equal(3, routes.Count);
        Assert.All(routes, r => Assert.Equal([Roles.Viewer], r.Metadata.GetMetadata<RequireRolesAttribute>()!.Roles));
        foreach (var method in new[] { nameof(Admin.AdminBase.ListAudit), nameof(Admin.AdminBase.VerifyAudit) })
        {
            var attribute = typeof(ControlPlane.Service.Admin.AdminGrpcService).GetMethod(method)!.GetCustomAttributes(typeof(RequireRolesAttribute), false);
            Assert.Equal([Roles.Viewer], Assert.IsType<RequireRolesAttribute>(Assert.Single(attribute)).Roles);
        }
    }

    private static async Task PostOkAsync(HttpClient client, string path, string json)
    {
        using var response = await client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static long[] Sequences(JsonElement page) => [.. page.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("sequence").GetInt64())];
}
