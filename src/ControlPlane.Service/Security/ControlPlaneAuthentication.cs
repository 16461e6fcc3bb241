using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace ControlPlane.Service.Security;

/// <summary>Registers authentication (API keys and, when configured, JWT bearer tokens, chosen per request by a policy
/// scheme: a <c>cpk_</c> token goes to the API key handler, anything else to JwtBearer) and authorization (every
/// endpoint requires an authenticated caller unless it allows anonymous callers; <see cref="RequireRolesAttribute"/>
/// names the roles of each action).</summary>
public static class ControlPlaneAuthentication
{
    /// <summary>The default scheme: forwards to <see cref="ApiKeyCache.Scheme"/> or JwtBearer.</summary>
    public const string Scheme = "ControlPlane";

    /// <summary>Adds authentication, authorization, the node's key cache and the auditing of refused calls.</summary>
    public static IServiceCollection AddControlPlaneAuthentication(this IServiceCollection services, Action<SecurityOptions>? configure = null)
    {
        services.AddOptions<SecurityOptions>().Configure(o => configure?.Invoke(o)).Validate(o =>
        {
            o.Validate();
            return true;
        }).ValidateOnStart();
        // Read once here: which schemes exist depends on it.
        var settings = new SecurityOptions();
        configure?.Invoke(settings);
        services.AddSingleton<ApiKeyCache>();
        services.AddSingleton<KeyOperations>();
        services.AddSingleton<AdminKeyBootstrap>();
        services.AddSingleton<AuthDenials>();
        services.AddHostedService<SecurityHostedService>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, AuditedAuthorizationResultHandler>();
        // Without JWT the API key scheme is the default itself: no forwarding hop (a second handler) on every call.
        var authentication = services.AddAuthentication(settings.JwtEnabled ? Scheme : ApiKeyCache.Scheme)
            .AddPolicyScheme(Scheme, "API key or JWT bearer token", o => o.ForwardDefaultSelector = context =>
                !settings.JwtEnabled || BearerToken.IsApiKey(context.Request.Headers) ? ApiKeyCache.Scheme : JwtBearerDefaults.AuthenticationScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyCache.Scheme, null);
        if (settings.JwtEnabled)
        {
            authentication.AddJwtBearer(o => ConfigureJwt(o, settings));
        }

        services.AddAuthorization(o => o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        return services;
    }

    private static void ConfigureJwt(JwtBearerOptions o, SecurityOptions settings)
    {
        o.MapInboundClaims = false;
        o.RequireHttpsMetadata = false;
        o.TokenValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = settings.JwtIssuer,
            ValidAudience = settings.JwtAudience,
            IssuerSigningKey = ReadSigningKey(settings.JwtKeyFile!),
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            ValidateIssuerSigningKey = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = TimeSpan.FromSeconds(30),
            NameClaimType = SecurityClaims.Subject,
            RoleClaimType = SecurityClaims.Roles,
        };
        o.Events = new JwtBearerEvents
        {
            OnTokenValidated = context =>
            {
                if (context.Principal?.Identity is not ClaimsIdentity identity || identity.FindFirst(SecurityClaims.Subject) is not { Value.Length: > 0 } subject)
                {
                    context.Fail("the token has no subject (sub)");
                    return Task.CompletedTask;
                }

                foreach (var role in identity.FindAll(SecurityClaims.Role).ToList())
                {
                    identity.AddClaim(new Claim(SecurityClaims.Roles, role.Value));
                }

                var tokenId = identity.FindFirst("jti")?.Value ?? subject.Value;
                identity.AddClaim(new Claim(SecurityClaims.Credential, $"jwt:{settings.JwtIssuer}:{tokenId}"));
                identity.AddClaim(new Claim(SecurityClaims.Kind, SecurityClaims.JwtKind));
                return Task.CompletedTask;
            },
        };
    }

    /// <summary>A PEM public key (RSA or EC), or else the file's bytes as an HMAC key (at least 32 bytes).</summary>
    internal static SecurityKey ReadSigningKey(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var text = Encoding.UTF8.GetString(bytes);
        if (text.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            try
            {
                var rsa = RSA.Create();
                rsa.ImportFromPem(text);
                return new RsaSecurityKey(rsa);
            }
            catch (ArgumentException)
            {
                var ec = ECDsa.Create();
                try
                {
                    ec.ImportFromPem(text);
                }
                catch (ArgumentException error)
                {
                    ec.Dispose();
                    throw new InvalidOperationException($"{path}: not an RSA or EC public key in PEM form.", error);
                }

                return new ECDsaSecurityKey(ec);
            }
        }

        var secret = Encoding.UTF8.GetBytes(text.TrimEnd('\r', '\n'));
        return secret.Length >= 32 ? new SymmetricSecurityKey(secret)
            : throw new InvalidOperationException($"{path}: an HMAC key must be at least 32 bytes.");
    }

    /// <summary>Loads the key cache (after the silo or cluster client started, and after the bootstrap key is in the
    /// store), flushes refused-call counts to the audit trail.</summary>
    private sealed class SecurityHostedService(ApiKeyCache keys, AuthDenials denials, AdminKeyBootstrap bootstrap) : IHostedLifecycleService
    {
        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StartedAsync(CancellationToken cancellationToken)
        {
            await bootstrap.RunAsync(cancellationToken);
            await keys.StartAsync(cancellationToken);
            denials.Start();
        }

        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            await denials.StopAsync();
            await keys.StopAsync();
        }

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
