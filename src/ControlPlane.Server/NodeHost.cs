using ControlPlane.Fleet;
using ControlPlane.Grpc.Health;
using ControlPlane.Grpc.Reflection;
using ControlPlane.Grpc.Server;
using ControlPlane.Server.Diagnostics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using ControlPlane.Service;
using ControlPlane.Service.Admin;

namespace ControlPlane.Server;

/// <summary>Builds a node: Kestrel with the gRPC server, health, reflection and (unless disabled)
/// diagnostics; with a fleet, also the control plane (grains, Routing service) and the admin API on its own
/// HTTP/1.1 endpoint. Program and the tests build nodes the same way.</summary>
internal static class NodeHost
{
    private static readonly TimeSpan HostShutdownTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Marks connections accepted on the admin endpoint, so admin routes answer only there.</summary>
    private const string AdminConnectionKey = "controlplane.admin";

    public static WebApplication Build(NodeOptions options, Action<WebApplicationBuilder>? configure = null) =>
        Build(options, fleet: null, configure);

    public static WebApplication Build(NodeOptions options, FleetDefinition? fleet, Action<WebApplicationBuilder>? configure = null,
        Action<ControlPlaneOptions>? configureControlPlane = null)
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
            if (fleet is not null)
            {
                // The admin API is plain HTTP/1.1 JSON on its own port; the gRPC port stays h2c-only.
                kestrel.Listen(options.AdminEndpoint, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1;
                    listen.Use(next => connection =>
                    {
                        connection.Items[AdminConnectionKey] = true;
                        return next(connection);
                    });
                });
            }

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

        if (fleet is not null)
        {
            builder.Services.AddControlPlane(fleet, options.Storage, options.DataDirectory, configureControlPlane);
            builder.Services.AddOpenApi();
            builder.Services.AddProblemDetails();
        }

        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseGrpcServices();
        if (fleet is not null)
        {
            // gRPC calls never get here; admin routes are refused on the gRPC port.
            app.Use((context, next) =>
            {
                var onAdminPort = context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(AdminConnectionKey) == true;
                if (!onAdminPort)
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }

                return next(context);
            });
            // Bodyless errors from routing (404, 405, 415) become problem+json too.
            app.UseStatusCodePages();
            app.UseRouting();
            app.MapAdminApi();
            app.MapOpenApi();
        }

        return app;
    }

    /// <summary>The address Kestrel actually bound (resolves port 0), e.g. <c>http://127.0.0.1:50051</c>.</summary>
    public static string GrpcAddress(WebApplication app) => Addresses(app).FirstOrDefault() ?? throw new InvalidOperationException("The node is not listening.");

    /// <summary>The admin API's bound address, e.g. <c>http://127.0.0.1:8080</c> (endpoints bind in the order configured).</summary>
    public static string AdminAddress(WebApplication app) => Addresses(app).Skip(1).FirstOrDefault() ?? throw new InvalidOperationException("The admin API is not listening.");

    private static IEnumerable<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
}
