using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ControlPlane.Dashboard.Tests.Support;
using ControlPlane.Service.Dashboard;
using ControlPlane.Service.Security;
using ControlPlane.Testing;

namespace ControlPlane.Dashboard.Tests.Dashboard;

/// <summary>The dashboard's page and data routes over real sockets on an in-process node.</summary>
public sealed class DashboardHttpTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_page_is_served_anonymously_with_a_strict_content_security_policy_and_no_secrets()
    {
        await using var node = await DashboardNode.StartAsync();
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = node.AdminAddress };

        using var page = await anonymous.GetAsync("ui/");
        var html = await page.Content.ReadAsStringAsync();
        using var script = await anonymous.GetAsync("ui/app.js");
        using var root = await anonymous.GetAsync("");
        using var bare = await anonymous.GetAsync("ui");
        using var unknown = await anonymous.GetAsync("ui/secrets.json");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Equal(DashboardAssets.ContentSecurityPolicy, string.Join(", ", page.Headers.GetValues("Content-Security-Policy")));
        Assert.Contains("script-src 'self'", DashboardAssets.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", DashboardAssets.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.Equal("nosniff", string.Join(", ", page.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("DENY", string.Join(", ", page.Headers.GetValues("X-Frame-Options")));
        // No inline script and nothing of the node's keys in the markup.
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("cpk_", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("cpk_", await script.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, root.StatusCode);
        Assert.Equal("/ui/", root.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.Redirect, bare.StatusCode);
        Assert.Equal("/ui/", bare.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Theory]
    [InlineData("admin/v1/dashboard/snapshot")]
    [InlineData("admin/v1/dashboard/history")]
    [InlineData("admin/v1/dashboard/stream")]
    public async Task The_data_routes_need_a_viewer_key(string path)
    {
        await using var node = await DashboardNode.StartAsync();
        using var anonymous = new HttpClient { BaseAddress = node.AdminAddress };
        using var reporter = TestCredentials.Client(node.AdminAddress, await node.KeyForAsync("rita", Roles.Reporter));

        using var none = await anonymous.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        using var wrongRole = await reporter.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, wrongRole.StatusCode);
    }

    [Fact]
    public async Task The_snapshot_shows_every_endpoint_and_class_and_a_forced_breaker_with_its_reason_and_audit_entry()
    {
        await using var node = await DashboardNode.StartAsync();
        using var viewer = TestCredentials.Client(node.AdminAddress, await node.KeyForAsync("vera", Roles.Viewer));
        var fleet = await node.GetJsonAsync("admin/v1/fleet");
        var id = fleet.GetProperty("endpoints")[0].GetProperty("id").GetString()!;

        await node.PostAsync($"admin/v1/endpoints/{id}/breaker", """{"state":"open","reason":"provider incident 42"}""");
        var snapshot = await PollAsync(viewer, s => Row(s, id).GetProperty("state").GetString() == "forced_open");

        Assert.Equal(fleet.GetProperty("endpoints").GetArrayLength(), snapshot.GetProperty("endpoints").GetArrayLength());
        Assert.Equal(fleet.GetProperty("classes").GetArrayLength(), snapshot.GetProperty("classes").GetArrayLength());
        var row = Row(snapshot, id);
        Assert.Equal("provider incident 42", row.GetProperty("override").GetProperty("reason").GetString());
        Assert.Equal("closed", row.GetProperty("automaticState").GetString());
        var card = snapshot.GetProperty("classes")[0];
        Assert.True(card.GetProperty("availability").GetProperty("target").GetDouble() > 0);
        Assert.Equal(1, card.GetProperty("availability").GetProperty("budgetRemaining").GetDouble());
        var audit = snapshot.GetProperty("audit").EnumerateArray().First(e => e.GetProperty("action").GetString() == "breaker.force_open");
        Assert.Equal(id, audit.GetProperty("target").GetString());
        Assert.Equal("provider incident 42", audit.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task The_alerts_panel_lists_the_firing_alerts_of_the_owning_grains()
    {
        await using var node = await DashboardNode.StartAsync();
        using var viewer = TestCredentials.Client(node.AdminAddress, await node.KeyForAsync("vera", Roles.Viewer));

        // The sample fleet's openai-gpt4o-us is deprecated on 2026-12-31: its grain raises deprecation-notice (a
        // strategic alert of the state machine, not a class view's alert).
        var snapshot = await PollAsync(viewer, s => s.GetProperty("alerts").EnumerateArray().Any(IsDeprecation));
        var alert = snapshot.GetProperty("alerts").EnumerateArray().Single(IsDeprecation);
        Assert.Equal("endpoint", alert.GetProperty("targetKind").GetString());
        var listed = (await node.GetJsonAsync("admin/v1/alerts?state=firing")).GetProperty("alerts").EnumerateArray()
            .Select(a => (a.GetProperty("rule").GetString(), a.GetProperty("targetId").GetString())).ToHashSet();
        Assert.Contains(("deprecation-notice", "openai-gpt4o-us"), listed);
        Assert.All(snapshot.GetProperty("alerts").EnumerateArray(),
            a => Assert.Contains((a.GetProperty("rule").GetString(), a.GetProperty("targetId").GetString()), listed));

        static bool IsDeprecation(JsonElement a) =>
            a.GetProperty("rule").GetString() == "deprecation-notice" && a.GetProperty("targetId").GetString() == "openai-gpt4o-us";
    }

    [Theory]
    [InlineData("0")]
    [InlineData("61")]
    [InlineData("-5")]
    [InlineData("ten")]
    [InlineData("10&minutes=20")]
    [InlineData("99999999999999999999")]
    public async Task Bad_history_minutes_are_400_naming_the_field(string minutes)
    {
        await using var node = await DashboardNode.StartAsync();

        using var response = await node.Admin.GetAsync($"admin/v1/dashboard/history?minutes={minutes}");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("minutes", problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task The_sampler_fills_the_history_with_every_endpoint()
    {
        await using var node = await DashboardNode.StartAsync(o => o.SampleInterval = TimeSpan.FromSeconds(1));
        var ids = await node.EndpointIdsAsync();

        var history = await PollAsync(node.Admin, "admin/v1/dashboard/history?minutes=5", h => h.GetProperty("samples").GetArrayLength() >= 2);

        Assert.Equal(1, history.GetProperty("intervalSeconds").GetDouble());
        var sample = history.GetProperty("samples")[1];
        Assert.Equal(ids, sample.GetProperty("endpoints").EnumerateArray().Select(p => p.GetProperty("id").GetString()!));
    }

    [Fact]
    public async Task The_stream_sends_a_snapshot_at_once_and_another_when_a_breaker_changes()
    {
        await using var node = await DashboardNode.StartAsync();
        var id = (await node.EndpointIdsAsync())[0];
        using var viewer = TestCredentials.Client(node.AdminAddress, await node.KeyForAsync("vera", Roles.Viewer));
        using var cancel = new CancellationTokenSource(Patience);

        using var response = await viewer.GetAsync("admin/v1/dashboard/stream", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        var first = await NextSnapshotAsync(reader, cancel.Token);
        Assert.Equal("closed", Row(first, id).GetProperty("state").GetString());

        await node.PostAsync($"admin/v1/endpoints/{id}/drain", """{"reason":"maintenance"}""");

        JsonElement next;
        do
        {
            next = await NextSnapshotAsync(reader, cancel.Token);
        }
        while (Row(next, id).GetProperty("state").GetString() != "draining");

        Assert.Equal("maintenance", Row(next, id).GetProperty("override").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Streams_past_the_limit_are_503_and_a_closed_stream_frees_its_slot()
    {
        await using var node = await DashboardNode.StartAsync(o => o.MaxStreams = 1);
        var streams = (DashboardStream)node.Services.GetService(typeof(DashboardStream))!;

        var first = await node.Admin.GetAsync("admin/v1/dashboard/stream", HttpCompletionOption.ResponseHeadersRead);
        using (var second = await node.Admin.GetAsync("admin/v1/dashboard/stream", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
            Assert.Equal("application/problem+json", second.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(second.Headers.RetryAfter);
        }

        // The client goes away: the server notices and ends the stream.
        first.Dispose();
        var deadline = DateTime.UtcNow + Patience;
        while (streams.Open != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(0, streams.Open);
        using var third = await node.Admin.GetAsync("admin/v1/dashboard/stream", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
    }

    [Fact]
    public async Task The_Orleans_dashboard_answers_a_viewer_key_and_refuses_no_key()
    {
        await using var node = await DashboardNode.StartAsync();
        using var viewer = TestCredentials.Client(node.AdminAddress, await node.KeyForAsync("vera", Roles.Viewer));
        using var anonymous = new HttpClient { BaseAddress = node.AdminAddress };

        // HttpClient drops the Authorization header on a redirect: ask for the page itself.
        using var page = await viewer.GetAsync("dashboard/");
        using var refused = await anonymous.GetAsync("dashboard/");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("html", (await page.Content.ReadAsStringAsync()).ToLowerInvariant(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task The_Orleans_dashboard_is_not_served_when_turned_off()
    {
        await using var node = await DashboardNode.StartAsync(orleansDashboard: false);

        using var page = await node.Admin.GetAsync("dashboard/");

        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
    }

    private static JsonElement Row(JsonElement snapshot, string id) =>
        snapshot.GetProperty("endpoints").EnumerateArray().First(e => e.GetProperty("id").GetString() == id);

    private static Task<JsonElement> PollAsync(HttpClient client, Func<JsonElement, bool> done) =>
        PollAsync(client, "admin/v1/dashboard/snapshot", done);

    private static async Task<JsonElement> PollAsync(HttpClient client, string path, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            using var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (done(body) || DateTime.UtcNow > deadline)
            {
                return body;
            }

            await Task.Delay(100);
        }
    }

    // Reads events until a snapshot event; returns its data.
    private static async Task<JsonElement> NextSnapshotAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        string? name = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && name == "snapshot")
            {
                return JsonDocument.Parse(line[6..]).RootElement.Clone();
            }
            else if (line.Length == 0)
            {
                name = null;
            }
        }

        throw new InvalidOperationException("The stream ended.");
    }
}
