using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ControlPlane.Fleet;
using ControlPlane.Service;
using ControlPlane.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Server.Tests.Security;

/// <summary>A single in-memory node built by <see cref="NodeHost"/> from given options (TLS, listen addresses) on free
/// loopback ports, its bootstrap admin key the all-roles <see cref="TestCredentials.AdminKey"/>, plus clients that trust
/// a given root certificate.</summary>
internal sealed class SecurityNode : IAsyncDisposable
{
    private SecurityNode(WebApplication app) => App = app;

    public WebApplication App { get; }

    public IServiceProvider Services => App.Services;

    /// <summary>The data-plane address Kestrel reports (https://… with TLS).</summary>
    public Uri GrpcAddress => new(NodeHost.GrpcAddress(App) + "/");

    /// <summary>The admin address Kestrel reports.</summary>
    public Uri AdminAddress => new(NodeHost.AdminAddress(App) + "/");

    public static async Task<SecurityNode> StartAsync(NodeOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        options = options with
        {
            Storage = ControlPlaneStorage.Memory,
            AcceptUnroutedOutcomes = true,
            AdminKey = options.AdminKey ?? TestCredentials.AdminKey,
            GrpcEndpoint = options.GrpcEndpoint.Port == NodeOptions.DefaultGrpcPort ? new IPEndPoint(IPAddress.Loopback, 0) : options.GrpcEndpoint,
            AdminEndpoint = options.AdminEndpoint.Port == NodeOptions.DefaultAdminPort ? new IPEndPoint(IPAddress.Loopback, 0) : options.AdminEndpoint,
        };
        var app = NodeHost.Build(options, FleetLocator.Load(null), builder =>
        {
            builder.Logging.ClearProviders();
            configure?.Invoke(builder);
        });
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new SecurityNode(app);
    }

    /// <summary>A handler whose TLS trusts exactly <paramref name="root"/> (and checks the host name); null trusts the
    /// system store only. <paramref name="seen"/> receives the server's certificate.</summary>
    public static SocketsHttpHandler Trusting(X509Certificate2? root, Action<X509Certificate2>? seen = null) => new()
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null)
                {
                    return false;
                }

                var server = new X509Certificate2(certificate);
                seen?.Invoke(server);
                if (root is null)
                {
                    return errors == SslPolicyErrors.None;
                }

                if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(root);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(server);
            },
        },
    };

    /// <summary>A handler sending <paramref name="token"/> (default: the all-roles test key) over a handler trusting
    /// <paramref name="root"/> (null: plain sockets).</summary>
    public static HttpMessageHandler Authenticated(X509Certificate2? root = null, string token = TestCredentials.AdminKey) =>
        TestCredentials.Handler(token, root is null ? new SocketsHttpHandler() : Trusting(root));

    /// <summary>Creates an API key named <paramref name="name"/> with <paramref name="roles"/> through the admin API (as
    /// the test admin key) and returns its token.</summary>
    public async Task<string> CreateKeyAsync(string name, params string[] roles)
    {
        using var admin = TestCredentials.Client(AdminAddress);
        using var response = await admin.PostAsJsonAsync("admin/v1/keys", new { name, roles, reason = "test" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("key").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        await NodeHost.StopAsync(App);
        await App.DisposeAsync();
    }
}
