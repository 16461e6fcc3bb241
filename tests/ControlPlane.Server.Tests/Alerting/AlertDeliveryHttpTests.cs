using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ControlPlane.Fleet;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service.Security;

namespace ControlPlane.Server.Tests.Alerting;

/// <summary><c>GET /admin/v1/alerts/deliveries</c> and <c>POST /admin/v1/alerts/test</c> on a running node, with a real
/// HTTP receiver (<see cref="HttpListener"/>) taking the test notice.</summary>
public sealed class AlertDeliveryHttpTests : IAsyncLifetime
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<JsonElement> _received = new();
    private readonly CancellationTokenSource _stop = new();
    private ControlPlaneNode? _node;
    private Task? _serve;

    private ControlPlaneNode Node => _node!;

    public async Task InitializeAsync()
    {
        int port = ControlPlane.Testing.FreePort.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _serve = Task.Run(ServeAsync);
        var fleet = FleetLoader.Load(new StringReader($$"""
            endpoints:
              - { id: a, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: platform-ai, on_call: "#p" }
            classes:
              - { name: chat, owner: support-eng, mode: auto_fallback, primary: [a], slo: { availability: 0.99 } }
            teams:
              - name: platform-ai
                on_call: "#p"
                receivers: [ { type: webhook, name: hook, url: "http://127.0.0.1:{{port}}/hook" } ]
            """), "alerts-http.yaml");
        _node = await ControlPlaneNode.StartInMemoryAsync(fleet: fleet);
    }

    public async Task DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }

        await _stop.CancelAsync();
        _listener.Stop();
        _listener.Close();
        if (_serve is not null)
        {
            await _serve.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stop.Dispose();
    }

    [Fact]
    public async Task An_operator_sends_a_test_notice_and_a_viewer_sees_it_delivered()
    {
        using var viewer = await Node.AdminAsAsync("vera", Roles.Viewer);
        using var op = await Node.AdminAsAsync("olga", Roles.Operator);

        using (var denied = await viewer.PostAsJsonAsync("admin/v1/alerts/test", new { team = "platform-ai", reason = "drill" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        }

        using (var accepted = await op.PostAsJsonAsync("admin/v1/alerts/test", new { team = "platform-ai", reason = "drill" }))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            var body = await accepted.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(("platform-ai", 1), (body.GetProperty("team").GetString(), body.GetProperty("queued").GetInt32()));
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonElement team;
        do
        {
            await Task.Delay(100);
            var view = await viewer.GetFromJsonAsync<JsonElement>("admin/v1/alerts/deliveries");
            team = Assert.Single(view.GetProperty("teams").EnumerateArray());
        }
        while (team.GetProperty("delivered").GetInt64() < 1 && DateTime.UtcNow < deadline);

        Assert.Equal(("platform-ai", 1L, 0L, 0), (team.GetProperty("team").GetString(), team.GetProperty("delivered").GetInt64(),
            team.GetProperty("failed").GetInt64(), team.GetProperty("queued").GetInt32()));
        Assert.Equal("hook", Assert.Single(team.GetProperty("receivers").EnumerateArray()).GetProperty("name").GetString());
        var notice = Assert.Single(_received);
        Assert.Equal(("firing", "platform-ai", true), (notice.GetProperty("status").GetString(), notice.GetProperty("team").GetString(), notice.GetProperty("test").GetBoolean()));
        Assert.Contains("olga", notice.GetProperty("summary").GetString());
        Assert.Contains("drill", notice.GetProperty("summary").GetString());
    }

    [Theory]
    [InlineData("""{ "reason": "x" }""", HttpStatusCode.BadRequest, "team")]
    [InlineData("""{ "team": "platform-ai" }""", HttpStatusCode.BadRequest, "reason")]
    [InlineData("""{ "team": "platform-ai", "reason": "x", "receiver": "hook" }""", HttpStatusCode.BadRequest, "receiver")]
    [InlineData("""{ "team": "support-eng", "reason": "x" }""", HttpStatusCode.NotFound, "team")]
    public async Task A_bad_test_request_is_refused_naming_the_field(string json, HttpStatusCode status, string field)
    {
        using var op = await Node.AdminAsAsync("olga", Roles.Operator);
        using var response = await op.PostAsync("admin/v1/alerts/test", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        Assert.Empty(_received);
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested || !_listener.IsListening)
            {
                return;
            }

            using (var body = await JsonDocument.ParseAsync(context.Request.InputStream))
            {
                _received.Enqueue(body.RootElement.Clone());
            }

            context.Response.StatusCode = 200;
            context.Response.Close();
        }
    }
}
