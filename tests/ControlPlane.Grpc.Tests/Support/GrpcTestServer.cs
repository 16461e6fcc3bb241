using System.Net;
using ControlPlane.Grpc.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grpc.Tests.Support;

/// <summary>A real Kestrel gRPC server on 127.0.0.1 (port chosen by the OS), HTTP/2 cleartext with prior
/// knowledge, hosting whatever services the test registers. Reusable by any test project.</summary>
public sealed class GrpcTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lazy<HttpClient> _client;

    private GrpcTestServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
        _client = new Lazy<HttpClient>(() => CreateHttpClient());
    }

    /// <summary>Base address, e.g. <c>http://127.0.0.1:40123/</c>.</summary>
    public Uri Address { get; }

    /// <summary>The server's container (health registry, options, ...).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The host, for shutdown tests.</summary>
    public WebApplication App => _app;

    /// <summary>A shared HTTP/2 prior-knowledge client.</summary>
    public HttpClient Client => _client.Value;

    /// <summary>Starts a server hosting the services <paramref name="configureServices"/> registers
    /// (after <c>AddGrpcServer</c>), served by <c>UseGrpcServices</c> or, when
    /// <paramref name="useEndpointRouting"/>, by <c>MapGrpcServices</c>.</summary>
    public static async Task<GrpcTestServer> StartAsync(
        Action<IServiceCollection> configureServices,
        Action<GrpcServerOptions>? configureOptions = null,
        bool useEndpointRouting = false,
        Action<KestrelServerOptions>? configureKestrel = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            configureKestrel?.Invoke(kestrel);
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.RefuseHttp1Requests();
            });
        });
        builder.Services.AddGrpcServer(configureOptions);
        configureServices(builder.Services);
        var app = builder.Build();
        if (useEndpointRouting)
        {
            app.MapGrpcServices();
        }
        else
        {
            app.UseGrpcServices();
        }
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new GrpcTestServer(app, new Uri(address + "/"));
    }

    /// <summary>A new HTTP/2 prior-knowledge client (its own connection pool).</summary>
    public HttpClient CreateHttpClient(Version? version = null) => new(new SocketsHttpHandler { EnableMultipleHttp2Connections = false })
    {
        BaseAddress = Address,
        DefaultRequestVersion = version ?? HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    public async ValueTask DisposeAsync()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
