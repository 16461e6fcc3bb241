using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using ControlPlane.Grains;
using ControlPlane.Grains.ClusterHost;
using ControlPlane.Grains.Grpc;
using ControlPlane.Grains.Placement;
using ControlPlane.Grains.Redis;
using ControlPlane.Grpc.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// One cluster node. Arguments: --redis host:port --node name [--prefix p] [--lease-ms n] [--heartbeat-ms n] [--drain-ms n].
// Prints "listening http://127.0.0.1:port" and "silo <id>" once it serves; SIGTERM hands off gracefully and exits 0.
var arguments = ParseArguments(args);
var port = FreeLoopbackPort();
var lease = TimeSpan.FromMilliseconds(int.Parse(arguments.GetValueOrDefault("lease-ms", "3000"), CultureInfo.InvariantCulture));
var heartbeat = TimeSpan.FromMilliseconds(int.Parse(arguments.GetValueOrDefault("heartbeat-ms", "250"), CultureInfo.InvariantCulture));
var drain = TimeSpan.FromMilliseconds(int.Parse(arguments.GetValueOrDefault("drain-ms", "1000"), CultureInfo.InvariantCulture));
var node = arguments["node"];

var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http2));
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
// This program orders shutdown itself (silo hand-off before the gRPC server stops), so the host must not react to SIGTERM.
builder.Services.AddSingleton<IHostLifetime, ProgramOwnedLifetime>();
// Detailed errors: the driver prints why a call failed (exception type and message, never a stack).
builder.Services.AddGrpcServer(o => o.EnableDetailedErrors = true);
builder.Services.AddSingleton<NodeRecord>();
builder.Services.AddGrainSilo(silo => silo
    .Configure(o =>
    {
        o.SiloId = node;
        o.CallTimeout = TimeSpan.FromSeconds(20);
        o.ShutdownTimeout = TimeSpan.FromSeconds(10);
    })
    .UseRedisClustering(o =>
    {
        o.Redis.Endpoint = arguments["redis"];
        o.KeyPrefix = arguments.GetValueOrDefault("prefix", "cp:test");
        o.SiloAddress = $"127.0.0.1:{port}";
        o.NodeName = node;
        o.LeaseDuration = lease;
        o.HeartbeatInterval = heartbeat;
    })
    .UseGrpcTransport(sp => new MembershipSiloAddresses(sp.GetRequiredService<IClusterMembership>()), o =>
    {
        o.MaxRedirects = int.Parse(arguments.GetValueOrDefault("max-redirects", "3"), CultureInfo.InvariantCulture);
        o.MaxRetryDelay = TimeSpan.FromMilliseconds(500);
    })
    .AddGrain<ICounterGrain, CounterGrain>());
builder.Services.AddGrpcService(sp => ControlService(sp));
var app = builder.Build();
app.UseGrpcServices();

var terminate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    terminate.TrySetResult();
});
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
{
    context.Cancel = true;
    terminate.TrySetResult();
});

await app.StartAsync();
var membership = app.Services.GetRequiredService<IClusterMembership>();
Console.Out.WriteLine($"listening http://127.0.0.1:{port}");
Console.Out.WriteLine($"silo {membership.LocalSiloId}");
Console.Out.Flush();

await terminate.Task;
// Hand-off: refuse new calls (callers get "not serving" and retry elsewhere), run queued turns, flush and release
// claims, leave membership. The transport keeps answering for a drain period so late callers are rejected, not refused.
await app.Services.GetRequiredService<GrainSilo>().StopAsync();
await Task.Delay(drain);
await app.StopAsync();
Console.Out.WriteLine("stopped");
return 0;

static GrpcServiceDefinition ControlService(IServiceProvider services)
{
    var grains = services.GetRequiredService<IGrainFactory>();
    var record = services.GetRequiredService<NodeRecord>();
    var membership = services.GetRequiredService<IClusterMembership>();
    return GrpcServiceDefinition.CreateBuilder(ClusterControl.ServiceName)
        .AddUnary(ClusterControl.Increment, async (key, _) =>
            (await grains.GetGrain<ICounterGrain>(key).Increment()).ToString(CultureInfo.InvariantCulture))
        .AddUnary(ClusterControl.Get, async (key, _) =>
            (await grains.GetGrain<ICounterGrain>(key).Get()).ToString(CultureInfo.InvariantCulture))
        .AddUnary(ClusterControl.Silo, (_, _) => Task.FromResult(membership.LocalSiloId))
        .AddUnary(ClusterControl.Activations, (_, _) => Task.FromResult(Lines(record.Activations.Select(p => $"{p.Key}={p.Value}"))))
        .AddUnary(ClusterControl.Live, (_, _) => Task.FromResult(Lines(record.Live.Keys)))
        .AddUnary(ClusterControl.Fenced, (_, _) => Task.FromResult(Lines(record.Fenced.Select(p => $"{p.Key}={p.Value}"))))
        .Build();
}

static string Lines(IEnumerable<string> lines)
{
    var text = new StringBuilder();
    foreach (var line in lines)
    {
        text.Append(line).Append('\n');
    }

    return text.ToString();
}

static Dictionary<string, string> ParseArguments(string[] args)
{
    var parsed = new Dictionary<string, string>(StringComparer.Ordinal);
    for (var i = 0; i + 1 < args.Length; i += 2)
    {
        parsed[args[i].TrimStart('-')] = args[i + 1];
    }

    return parsed;
}

static int FreeLoopbackPort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

/// <summary>A host lifetime that ignores signals: Program decides when and in which order to stop.</summary>
internal sealed class ProgramOwnedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
