using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ControlPlane.Server.Tests.Security;

/// <summary>JWT bearer tokens against a node started with <c>--jwt-issuer/--jwt-audience/--jwt-key-file</c> (an HMAC
/// key file): a valid token authenticates as its subject with its roles; a wrong issuer, wrong audience, bad signature,
/// an expired token or one without a subject is 401.</summary>
public sealed class JwtTests : IAsyncLifetime
{
    private const string Issuer = "https://idp.example";
    private const string Audience = "controlplane";
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("a-32-byte-or-longer-hmac-test-key-for-jwts");
    private readonly string _keyFile = Path.Combine(Path.GetTempPath(), $"cp-jwt-{Guid.NewGuid():N}.key");
    private ControlPlaneNode _node = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllBytesAsync(_keyFile, Secret);
        _node = await ControlPlaneNode.StartAsync(new NodeOptions
        {
            Storage = ControlPlaneStorage.Memory,
            JwtIssuer = Issuer,
            JwtAudience = Audience,
            JwtKeyFile = _keyFile,
        }, fleet: null);
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        File.Delete(_keyFile);
    }

    [Fact]
    public async Task A_valid_token_authenticates_as_its_subject_with_its_roles_and_is_the_recorded_actor()
    {
        var token = Token(new Claim("roles", "viewer"), new Claim("roles", "operator"), new Claim("jti", "t-1"));

        var whoami = await GetAsync("admin/v1/whoami", token);
        using var breaker = await SendAsync(HttpMethod.Post, "admin/v1/endpoints/openai-gpt4o-us/breaker", token, """{"state":"open","reason":"jwt test"}""");

        Assert.Equal(HttpStatusCode.OK, whoami.Status);
        Assert.Equal("jane", whoami.Body.GetProperty("principal").GetString());
        Assert.Equal(["viewer", "operator"], whoami.Body.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(($"jwt:{Issuer}:t-1", "jwt"), (whoami.Body.GetProperty("credentialId").GetString(), whoami.Body.GetProperty("kind").GetString()));
        Assert.Equal(HttpStatusCode.OK, breaker.StatusCode);
        Assert.Equal("jane", (await breaker.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("override").GetProperty("actor").GetString());
        // Roles are per action: viewer and operator do not reach the keys.
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync("admin/v1/keys", token)).Status);
    }

    [Fact]
    public async Task The_role_claim_is_read_as_well_as_roles()
    {
        var token = Token(new Claim("role", "admin"));

        Assert.Equal(HttpStatusCode.OK, (await GetAsync("admin/v1/keys", token)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync("admin/v1/fleet", token)).Status);
    }

    public static TheoryData<string> BadTokens => new() { "wrong issuer", "wrong audience", "bad signature", "expired", "no subject", "not a JWT" };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task A_bad_token_is_401(string kind)
    {
        var token = kind switch
        {
            "wrong issuer" => Token(issuer: "https://evil.example"),
            "wrong audience" => Token(audience: "someone-else"),
            "bad signature" => Token(secret: Encoding.UTF8.GetBytes("another-32-byte-or-longer-hmac-key-xxxxx")),
            "expired" => Token(expires: DateTime.UtcNow.AddMinutes(-5)),
            "no subject" => Token(subject: null),
            _ => "not.a.jwt",
        };

        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync("admin/v1/whoami", token)).Status);
    }

    private static string Token(params Claim[] claims) => Token(extra: claims);

    private static string Token(string issuer = Issuer, string audience = Audience, byte[]? secret = null, DateTime? expires = null,
        string? subject = "jane", Claim[]? extra = null)
    {
        var all = new List<Claim>(extra ?? [new Claim("roles", "viewer")]);
        if (subject is not null)
        {
            all.Add(new Claim("sub", subject));
        }

        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Subject = new ClaimsIdentity(all),
            IssuedAt = (expires ?? now.AddMinutes(10)).AddMinutes(-10),
            NotBefore = (expires ?? now.AddMinutes(10)).AddMinutes(-10),
            Expires = expires ?? now.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(secret ?? Secret), SecurityAlgorithms.HmacSha256),
        });
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path, string token)
    {
        using var response = await SendAsync(HttpMethod.Get, path, token, null);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 && response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) == true
            ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string token, string? json)
    {
        using var client = new HttpClient { BaseAddress = _node.AdminAddress };
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return await client.SendAsync(request);
    }
}
