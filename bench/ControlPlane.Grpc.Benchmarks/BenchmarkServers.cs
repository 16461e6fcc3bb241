using System.Net;
using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grpc.Benchmarks;

/// <summary>The two servers under test, each on its own Kestrel HTTP/2 cleartext loopback listener.</summary>
internal static class BenchmarkServers
{
    public const string ServiceName = "bench.v1.Echo";

    /// <summary>The baseline: minimal middleware that copies the request body to the response.</summary>
    public static Task<WebApplication> StartRawEchoAsync() => StartAsync(
        services => { },
        app => app.Run(static async context =>
        {
            context.Response.ContentType = "application/octet-stream";
            await context.Request.Body.CopyToAsync(context.Response.Body);
        }));

    /// <summary>Our gRPC server with a minimal echo service (unary and server-streaming).</summary>
    public static Task<WebApplication> StartGrpcAsync() => StartAsync(
        services =>
        {
            services.AddGrpcServer();
            services.AddGrpcService(GrpcServiceDefinition.CreateBuilder(ServiceName)
                .AddUnary<EchoRequest, EchoResponse>("Unary", static (request, _) =>
                    Task.FromResult(new EchoResponse { Message = request.Message, Payload = request.Payload }))
                .AddServerStreaming<EchoRequest, EchoResponse>("Stream", static async (request, responses, context) =>
                {
                    var response = new EchoResponse { Message = request.Message, Payload = request.Payload, Count = request.Count };
                    for (var i = 0; i < request.Count; i++)
                    {
                        await responses.WriteAsync(response, context.CancellationToken);
                    }
                })
                .Build());
        },
        app => app.UseGrpcServices());

    public static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    private static async Task<WebApplication> StartAsync(Action<IServiceCollection> services, Action<WebApplication> pipeline)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2);
        });
        services(builder.Services);
        var app = builder.Build();
        pipeline(app);
        await app.StartAsync();
        return app;
    }
}
