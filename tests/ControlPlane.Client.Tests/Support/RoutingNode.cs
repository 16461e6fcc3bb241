using System.Net;
using System.Security.Cryptography.X509Certificates;
using ControlPlane.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Client.Tests.Support;

/// <summary>A real Grpc.AspNetCore server on a free loopback port (Kestrel, h2c) serving <see cref="ScriptedRouting"/>.</summary>
internal sealed class RoutingNode : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RoutingNode(WebApplication app, ScriptedRouting routing, Uri address)
    {
        _app = app;
        Routing = routing;
        Address = address;
    }

    public ScriptedRouting Routing { get; }

    /// <summary>The node's address, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public Uri Address { get; }

    /// <summary>Starts a node on h2c, or on HTTP/2 over TLS with the server certificate of <paramref name="tls"/>.</summary>
    public static async Task<RoutingNode> StartAsync(TestCertificates? tls = null)
    {
        var routing = new ScriptedRouting();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        using var pem = tls is null ? null : X509Certificate2.CreateFromPemFile(tls.CertificatePath, tls.KeyPath);
        var certificate = pem is null ? null : X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o =>
        {
            o.Protocols = HttpProtocols.Http2;
            if (certificate is not null)
            {
                o.UseHttps(certificate);
            }
        }));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(routing);
        var app = builder.Build();
        app.MapGrpcService<ScriptedRouting>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new RoutingNode(app, routing, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
