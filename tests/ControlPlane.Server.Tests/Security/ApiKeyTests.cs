using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service.Security;

namespace ControlPlane.Server.Tests.Security;

/// <summary>API keys through the admin API of a real node on SQLite: shown once, stored only hashed, revoked at once,
/// the recorded actor is the key's principal (never a header), bad input refused naming the field.</summary>
public sealed class ApiKeyTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"cp-keys-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task A_created_key_is_shown_once_works_and_is_stored_only_as_a_hash()
    {
        string token;
        string id;
        await using (var node = await ControlPlaneNode.StartAsync(_dataDirectory))
        {
            using var created = await node.Admin.PostAsJsonAsync("admin/v1/keys", new { name = "ops-bot", roles = new[] { "viewer", "operator" }, reason = "automation" });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var body = await created.Content.ReadFromJsonAsync<JsonElement>();
            token = body.GetProperty("key").GetString()!;
            id = body.GetProperty("id").GetString()!;
            Assert.Matches("^cpk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$", token);
            Assert.Equal($"cpk_{id}_", token[..17]);
            Assert.Equal(["viewer", "operator"], body.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));

            var listed = await node.Admin.GetStringAsync("admin/v1/keys");
            Assert.Contains(id, listed, StringComparison.Ordinal);
            Assert.DoesNotContain(token[17..], listed, StringComparison.Ordinal);
            Assert.DoesNotContain("\"key\"", listed, StringComparison.Ordinal);
            var entry = JsonDocument.Parse(listed).RootElement.EnumerateArray().Single(k => k.GetProperty("id").GetString() == id);
            Assert.Equal("bootstrap-admin", entry.GetProperty("createdBy").GetString());
            Assert.Equal(JsonValueKind.Null, entry.GetProperty("revokedAt").ValueKind);

            var whoami = await WhoAmIAsync(node, token);
            Assert.Equal(("ops-bot", id, "api-key"), (whoami.GetProperty("principal").GetString(), whoami.GetProperty("credentialId").GetString(), whoami.GetProperty("kind").GetString()));
        }

        // Storage holds the key (its id) but neither the token nor the secret.
        var stored = Directory.GetFiles(_dataDirectory).Select(File.ReadAllBytes).SelectMany(b => b).ToArray();
        Assert.True(Contains(stored, Encoding.UTF8.GetBytes(id)), "the key store's record is not in storage");
        Assert.False(Contains(stored, Encoding.UTF8.GetBytes(token[17..])), "the secret is stored in clear");
        Assert.False(Contains(stored, Convert.FromBase64String(Base64(token[17..]))), "the secret's bytes are stored");
    }

    [Fact]
    public async Task A_revoked_key_is_refused_at_once_and_revoking_again_changes_nothing()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        var token = await node.KeyForAsync("dave", Roles.Viewer);
        var id = token.Split('_')[1];
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(node, token));

        using var revoked = await node.Admin.PostAsJsonAsync($"admin/v1/keys/{id}/revoke", new { reason = "left the team" });
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        var view = await revoked.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("bootstrap-admin", view.GetProperty("revokedBy").GetString());

        // The store pushed the revocation to this node before it answered.
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(node, token));
        using var again = await node.Admin.PostAsJsonAsync($"admin/v1/keys/{id}/revoke", new { reason = "twice" });
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(view.GetProperty("revokedAt").GetString(), (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("revokedAt").GetString());
        var audit = (await node.GetAdminJsonAsync("admin/v1/audit?limit=1000")).GetProperty("entries").EnumerateArray().Where(e => e.GetProperty("target").GetString() == id).ToList();
        Assert.Equal(["key.revoke", "key.create"], audit.Select(e => e.GetProperty("action").GetString()));
        Assert.Equal("left the team", audit[0].GetProperty("reason").GetString());
        using var unknown = await node.Admin.PostAsJsonAsync("admin/v1/keys/zzzzzzzzzzzz/revoke", new { reason = "x" });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task A_key_past_its_ttl_is_refused()
    {
        await using var node = await ControlPlaneNode.StartInMemoryAsync();
        using var created = await node.Admin.PostAsJsonAsync("admin/v1/keys", new { name = "short", roles = new[] { "viewer" }, ttlSeconds = 1, reason = "expiry test" });
        var token = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(node, token));

        await Task.Delay(TimeSpan.FromMilliseconds(1_300));

        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(node, token));
    }

    [Fact]
    public async Task The_recorded_actor_is_the_keys_principal_and_an_X_Actor_header_is_ignored()
    {
        await using var node = await ControlPlaneNode.StartInMemoryAsync();
        var token = await node.KeyForAsync("carol", Roles.Operator);
        using var request = new HttpRequestMessage(HttpMethod.Post, "admin/v1/endpoints/openai-gpt4o-us/breaker")
        {
            Content = new StringContent("""{"state":"open","reason":"INC-9"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Add("X-Actor", "admin");

        using var response = await node.Admin.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("carol", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("override").GetProperty("actor").GetString());
        var entry = (await node.GetChangesAuditAsync()).EnumerateArray().Single();
        var actor = entry.GetProperty("actor");
        Assert.Equal("carol", actor.GetProperty("principal").GetString());
        Assert.Equal(token.Split('_')[1], actor.GetProperty("credentialId").GetString());
        Assert.Equal(["operator"], actor.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.StartsWith("127.0.0.1:", actor.GetProperty("source").GetString(), StringComparison.Ordinal);
    }

    public static TheoryData<string, string> BadBodies => new()
    {
        { """{"roles":["viewer"],"reason":"r"}""", "name" },
        { """{"name":"a b","roles":["viewer"],"reason":"r"}""", "name" },
        { """{"name":"system:x","roles":["viewer"],"reason":"r"}""", "name" },
        { """{"name":"a","reason":"r"}""", "roles" },
        { """{"name":"a","roles":[],"reason":"r"}""", "roles" },
        { """{"name":"a","roles":"viewer","reason":"r"}""", "roles" },
        { """{"name":"a","roles":["root"],"reason":"r"}""", "roles[0]" },
        { """{"name":"a","roles":["viewer",7],"reason":"r"}""", "roles[1]" },
        { """{"name":"a","roles":["viewer","viewer","viewer","viewer","viewer","viewer","viewer","viewer","viewer","viewer","viewer","viewer","viewer","viewer","viewer","viewer"],"reason":"r"}""", "roles" },
        { """{"name":"a","roles":["viewer"],"ttlSeconds":0,"reason":"r"}""", "ttlSeconds" },
        { """{"name":"a","roles":["viewer"],"ttlSeconds":99999999999,"reason":"r"}""", "ttlSeconds" },
        { """{"name":"a","roles":["viewer"]}""", "reason" },
        { """{"name":"a","roles":["viewer"],"reason":"r","secret":"mine"}""", "secret" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task A_bad_key_request_is_400_naming_the_field_and_creates_nothing(string body, string field)
    {
        await using var node = await ControlPlaneNode.StartInMemoryAsync();
        var before = await node.Admin.GetStringAsync("admin/v1/keys");

        using var response = await node.Admin.PostAsync("admin/v1/keys", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        Assert.Equal(before, await node.Admin.GetStringAsync("admin/v1/keys"));
    }

    private static async Task<HttpStatusCode> StatusAsync(ControlPlaneNode node, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "admin/v1/whoami");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await node.Admin.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task<JsonElement> WhoAmIAsync(ControlPlaneNode node, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "admin/v1/whoami");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await node.Admin.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static string Base64(string base64Url)
    {
        var text = base64Url.Replace('-', '+').Replace('_', '/');
        return text + new string('=', (4 - (text.Length % 4)) % 4);
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
