using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Fleet;
using ControlPlane.Service.Security;

namespace ControlPlane.Server.Tests.EndToEnd;

/// <summary><c>POST /admin/v1/fleet/reload</c> on a running node: applied changes answer the new generation and its
/// changes; an invalid file or a refused change answers 400 problem+json listing every reason, and changes nothing.</summary>
public sealed class FleetReloadHttpTests : IAsyncLifetime
{
    private const string Fleet = """
        fleet: { name: http, version: "1" }
        endpoints:
          - { id: a, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, limits: { rpm: 100 }, owner_team: t, on_call: t }
          - { id: b, provider: vllm, model: llama, model_version: v2, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [a], fallbacks: [b], slo: { availability: 0.99 } }
        """;

    private readonly string _file = Path.Combine(Path.GetTempPath(), $"reload-fleet-{Guid.NewGuid():N}.yaml");
    private ControlPlaneNode? _node;

    private ControlPlaneNode Node => _node!;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_file, Fleet);
        _node = await ControlPlaneNode.StartInMemoryAsync(fleet: FleetLoader.LoadFile(_file));
    }

    public async Task DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }

        File.Delete(_file);
    }

    [Fact]
    public async Task An_admin_reload_answers_the_new_generation_and_its_changes()
    {
        await File.WriteAllTextAsync(_file, Fleet.Replace("version: \"1\"", "version: \"2\"", StringComparison.Ordinal));
        using var admin = await Node.AdminAsAsync("ops", Roles.Admin);

        using var response = await admin.PostAsync("admin/v1/fleet/reload", Json("""{"reason":"quarterly contract"}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, body.GetProperty("version").GetInt64());
        Assert.Equal(_file, body.GetProperty("source").GetString());
        Assert.Equal("fleet.version: 1 -> 2", Assert.Single(body.GetProperty("changes").EnumerateArray()).GetString());
        Assert.Equal("2", (await Node.GetAdminJsonAsync("/admin/v1/fleet")).GetProperty("version").GetString());
    }

    [Fact]
    public async Task An_invalid_file_answers_400_with_every_error_and_changes_nothing()
    {
        await File.WriteAllTextAsync(_file, Fleet.Replace("rpm: 100", "rpm: -1", StringComparison.Ordinal).Replace("version: \"1\"", "version: \"2\"", StringComparison.Ordinal)
            .Replace("mode: auto_fallback", "mode: sometimes", StringComparison.Ordinal));
        using var admin = await Node.AdminAsAsync("ops", Roles.Admin);

        using var response = await admin.PostAsync("admin/v1/fleet/reload", Json("""{"reason":"try"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("endpoints.a.limits.rpm", out _));
        Assert.True(errors.TryGetProperty("classes.chat.mode", out _));
        Assert.Equal("1", (await Node.GetAdminJsonAsync("/admin/v1/fleet")).GetProperty("version").GetString());
    }

    [Fact]
    public async Task A_policy_change_answers_400_naming_the_class_and_the_proposal_route()
    {
        await File.WriteAllTextAsync(_file, Fleet.Replace("primary: [a], fallbacks: [b]", "primary: [b], fallbacks: [a]", StringComparison.Ordinal));
        using var admin = await Node.AdminAsAsync("ops", Roles.Admin);

        using var response = await admin.PostAsync("admin/v1/fleet/reload", Json("""{"reason":"swap"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("classes.chat", problem.GetProperty("field").GetString());
        Assert.Contains("POST /admin/v1/classes/chat/proposals", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reload_without_a_reason_or_with_unknown_fields_is_400_naming_the_field()
    {
        using var admin = await Node.AdminAsAsync("ops", Roles.Admin);

        using var missing = await admin.PostAsync("admin/v1/fleet/reload", Json("{}"));
        using var unknown = await admin.PostAsync("admin/v1/fleet/reload", Json("""{"reason":"x","path":"/etc/passwd"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal("reason", (await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal("path", (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Fact]
    public async Task Only_the_admin_role_may_reload_and_a_refused_caller_changes_nothing()
    {
        await File.WriteAllTextAsync(_file, Fleet.Replace("version: \"1\"", "version: \"2\"", StringComparison.Ordinal));
        using var operatorClient = await Node.AdminAsAsync("olga", Roles.Operator, Roles.PolicyAuthor, Roles.PolicyApprover);
        using var anonymous = new HttpClient { BaseAddress = Node.AdminAddress };

        using var forbidden = await operatorClient.PostAsync("admin/v1/fleet/reload", Json("""{"reason":"not mine"}"""));
        using var unauthenticated = await anonymous.PostAsync("admin/v1/fleet/reload", Json("""{"reason":"who"}"""));

        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
        Assert.Equal("1", (await Node.GetAdminJsonAsync("/admin/v1/fleet")).GetProperty("version").GetString());
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
