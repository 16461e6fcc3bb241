using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service;
using ControlPlane.Service.Security;

namespace ControlPlane.Server.Tests.Security;

/// <summary>Refused calls change nothing and are audited: counted per (credential or anonymous, address, action) and
/// written as one <c>auth.denied</c> entry per group with its count.</summary>
public sealed class DenialAuditTests
{
    [Fact]
    public async Task Refused_calls_change_nothing_and_are_audited_as_counted_groups()
    {
        await using var node = await ControlPlaneNode.StartAsync(new NodeOptions
        {
            Storage = ControlPlaneStorage.Memory,
            ConfigureSecurity = s => s.DenialFlushPeriod = TimeSpan.FromSeconds(1),
        }, fleet: null);
        var viewer = await node.KeyForAsync("victor", Roles.Viewer);
        using var anonymous = new HttpClient { BaseAddress = node.AdminAddress };
        using var asViewer = new HttpClient { BaseAddress = node.AdminAddress };
        asViewer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", viewer);

        for (var i = 0; i < 3; i++)
        {
            using var refused = await anonymous.PostAsync("admin/v1/endpoints/openai-gpt4o-us/breaker", Json("""{"state":"open","reason":"x"}"""));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.Single().Scheme);
        }

        for (var i = 0; i < 2; i++)
        {
            using var forbidden = await asViewer.PostAsync("admin/v1/endpoints/openai-gpt4o-us/breaker", Json("""{"state":"open","reason":"x"}"""));
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        }

        var denied = await PollDeniedAsync(node, expected: 2);
        var unauthenticated = denied.Single(e => e.GetProperty("reason").GetString() == "unauthenticated");
        var forbiddenEntry = denied.Single(e => e.GetProperty("reason").GetString() == "forbidden");
        Assert.Equal(("anonymous", "POST /admin/v1/endpoints/{id}/breaker", "count=3"),
            (unauthenticated.GetProperty("actor").GetProperty("principal").GetString(), unauthenticated.GetProperty("target").GetString(), unauthenticated.GetProperty("after").GetString()));
        Assert.Equal(("victor", viewer.Split('_')[1], "count=2"),
            (forbiddenEntry.GetProperty("actor").GetProperty("principal").GetString(), forbiddenEntry.GetProperty("actor").GetProperty("credentialId").GetString(), forbiddenEntry.GetProperty("after").GetString()));
        Assert.Equal("127.0.0.1", forbiddenEntry.GetProperty("actor").GetProperty("source").GetString());

        // Nothing changed: no override, no change in the audit trail.
        Assert.Equal(JsonValueKind.Null, (await node.GetAdminJsonAsync("admin/v1/endpoints/openai-gpt4o-us")).GetProperty("override").ValueKind);
        Assert.Empty((await node.GetChangesAuditAsync()).EnumerateArray());
    }

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    private static async Task<List<JsonElement>> PollDeniedAsync(ControlPlaneNode node, int expected)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            var denied = (await node.GetAdminJsonAsync("admin/v1/audit")).EnumerateArray().Where(e => e.GetProperty("action").GetString() == "auth.denied").ToList();
            if (denied.Count >= expected || timeout.IsCancellationRequested)
            {
                return denied;
            }

            await Task.Delay(100, CancellationToken.None);
        }
    }
}
