using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace ControlPlane.Service.Security;

/// <summary>Authenticates <c>Authorization: Bearer cpk_...</c> against the node's <see cref="ApiKeyCache"/>.</summary>
internal sealed class ApiKeyAuthenticationHandler(ApiKeyCache keys, IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger,
    UrlEncoder encoder) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>How long a request waits for the node's first copy of the key store (only while the node starts).</summary>
    private static readonly TimeSpan LoadWait = TimeSpan.FromSeconds(10);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!BearerToken.TryGet(Request.Headers, out var header, out var start))
        {
            return AuthenticateResult.NoResult();
        }

        if (!keys.Loaded.IsCompleted)
        {
            try
            {
                await keys.Loaded.WaitAsync(LoadWait, Context.RequestAborted);
            }
            catch (TimeoutException)
            {
                return AuthenticateResult.Fail("the node has not loaded the API keys yet");
            }
        }

        var ticket = keys.Authenticate(header.AsSpan(start), out var failure);
        return ticket is null ? AuthenticateResult.Fail(failure ?? "invalid API key") : AuthenticateResult.Success(ticket);
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 401;
        Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
        return Task.CompletedTask;
    }
}

/// <summary>Reads <c>Authorization: Bearer TOKEN</c> without copying the token.</summary>
internal static class BearerToken
{
    private const string BearerPrefix = "Bearer ";

    /// <summary>The header value and where the token starts in it; false without a bearer credential.</summary>
    public static bool TryGet(Microsoft.AspNetCore.Http.IHeaderDictionary headers, out string header, out int start)
    {
        header = headers.Authorization.Count == 1 ? headers.Authorization[0] ?? "" : "";
        start = BearerPrefix.Length;
        return header.Length > start && header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>True when the request carries an API key (rather than a JWT).</summary>
    public static bool IsApiKey(Microsoft.AspNetCore.Http.IHeaderDictionary headers) =>
        TryGet(headers, out var header, out var start) && ApiKeyTokens.LooksLikeKey(header.AsSpan(start));
}
