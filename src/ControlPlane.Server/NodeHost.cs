using ControlPlane.Grpc.Health;
using ControlPlane.Grpc.Reflection;
using ControlPlane.Grpc.Server;
using ControlPlane.Server.Diagnostics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace ControlPlane.Server;

/// <summary>Builds a node: Kestrel with the gRPC server, health, reflection and (unless disabled)
/// diagnostics. Program and the tests build nodes the same way.</summary>
internal static class NodeHost
{
    private static readonly TimeSpan HostShutdownTimeout = TimeSpan.FromSeconds(15);

    public static WebApplication Build(NodeOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // HTTP/2 only (prior knowledge); HTTP/1.x callers get a clear 426 from the preface check.
            kestrel.Listen(options.GrpcEndpoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.RefuseHttp1Requests();
            });
            kestrel.AddServerHeader = false;
        });
        // Per-request ASP.NET Core logs at Information would dominate the gRPC hot path.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddGrpcServer();
        // The host waits longer than the gRPC shutdown timeout, so cancelled calls can still send their status.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = HostShutdownTimeout);
        builder.Services.AddGrpcHealth();
        builder.Services.AddGrpcReflection();
        if (options.EnableDiagnostics)
        {
            builder.Services.AddSingleton<DiagnosticsService>();
            builder.Services.AddGrpcService(sp => sp.GetRequiredService<DiagnosticsService>().CreateDefinition());
        }

        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseGrpcServices();
        return app;
    }

    /// <summary>The address Kestrel actually bound (resolves port 0), e.g. <c>http://127.0.0.1:50051</c>.</summary>
    public static string GrpcAddress(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        return addresses?.FirstOrDefault() ?? throw new InvalidOperationException("The node is not listening.");
    }
}
