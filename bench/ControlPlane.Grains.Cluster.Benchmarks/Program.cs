using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ControlPlane.Grains;
using ControlPlane.Grains.Grpc;
using ControlPlane.Grains.Placement;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// A remote grain call (silo "caller" -> silo "host" over loopback) against a raw unary echo through the same gRPC
// client and server, in one run, alternating rounds.
// Usage: dotnet run -c Release --project bench/ControlPlane.Grains.Cluster.Benchmarks [calls] [concurrency] [rounds]
var calls = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
var concurrency = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 32;
var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
var addresses = new FixedSiloAddresses();
await using var host = await BenchNode.StartAsync("host", addresses);
await using var caller = await BenchNode.StartAsync("caller", addresses);
using var channel = GrpcChannel.ForAddress(addresses.Host!);
var invoker = channel.CreateCallInvoker();
var grain = caller.Grains.GetGrain<IEchoGrain>("bench");

Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cores, {calls:N0} calls per case, {concurrency} concurrent callers, {rounds} rounds");
Console.WriteLine($"{"case",-40} {"calls/s",12} {"p50 µs",10} {"p99 µs",10}");
await MeasureAsync(calls / 4, concurrency, () => grain.Echo("warm"));
await MeasureAsync(calls / 4, concurrency, () => invoker.UnaryAsync(BenchNode.Echo, "warm"));
for (var round = 1; round <= rounds; round++)
{
    Report($"raw gRPC unary echo (round {round})", await MeasureAsync(calls, concurrency, () => invoker.UnaryAsync(BenchNode.Echo, "hello")));
    Report($"remote grain call (round {round})", await MeasureAsync(calls, concurrency, () => grain.Echo("hello")));
}

return 0;

static void Report(string name, (double PerSecond, double P50, double P99) r) =>
    Console.WriteLine($"{name,-40} {r.PerSecond,12:N0} {r.P50,10:F0} {r.P99,10:F0}");

static async Task<(double, double, double)> MeasureAsync(int calls, int concurrency, Func<Task<string>> call)
{
    var latencies = new double[calls];
    var next = -1;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < calls)
        {
            var start = Stopwatch.GetTimestamp();
            await call();
            latencies[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
    }));
    var elapsed = clock.Elapsed;
    Array.Sort(latencies);
    return (calls / elapsed.TotalSeconds, latencies[calls / 2], latencies[(int)(calls * 0.99)]);
}

/// <summary>The benchmark grain.</summary>
public interface IEchoGrain : IGrainWithStringKey
{
    /// <summary>Returns its argument.</summary>
    Task<string> Echo(string text);
}

internal sealed class EchoGrain : Grain, IEchoGrain
{
    public Task<string> Echo(string text) => Task.FromResult(text);
}

/// <summary>Every grain lives on silo "host".</summary>
internal sealed class HostDirectory(string localSiloId) : IGrainDirectory
{
    private readonly GrainLocation _host = new("host", localSiloId == "host");

    public ValueTask<GrainLocation> LocateAsync(GrainId grainId, CancellationToken cancellationToken = default) => ValueTask.FromResult(_host);

    public ValueTask<GrainClaim> ClaimAsync(GrainId grainId, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_host.IsLocal ? new GrainClaim(true, 1) : new GrainClaim(false, 0, _host));

    public ValueTask ReleaseAsync(GrainId grainId, GrainClaim claim, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
}

internal sealed class FixedSiloAddresses : ISiloAddressResolver
{
    public Uri? Host { get; set; }

    public ValueTask<Uri?> ResolveAsync(string siloId, CancellationToken cancellationToken) => ValueTask.FromResult(siloId == "host" ? Host : null);
}

internal sealed class BenchNode(WebApplication app) : IAsyncDisposable
{
    public static readonly Method<string, string> Echo = new(MethodType.Unary, "bench.Echo", "Echo", Text, Text);

    private static Marshaller<string> Text => new(
        s => Encoding.UTF8.GetByteCount(s), (s, d) => Encoding.UTF8.GetBytes(s, d), p => Encoding.UTF8.GetString(p));

    public IGrainFactory Grains => app.Services.GetRequiredService<GrainSilo>().GrainFactory;

    public static async Task<BenchNode> StartAsync(string siloId, FixedSiloAddresses addresses)
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Services.AddGrpcServer();
        builder.Services.AddGrpcService(GrpcServiceDefinition.CreateBuilder("bench.Echo")
            .AddUnary(Echo, (request, _) => Task.FromResult(request)).Build());
        builder.Services.AddGrainSilo(silo => silo
            .Configure(o => o.SiloId = siloId)
            .UseMemoryStorage()
            .UseDirectory(_ => new HostDirectory(siloId))
            .UseGrpcTransport(_ => addresses)
            .AddGrain<IEchoGrain, EchoGrain>());
        var app = builder.Build();
        app.UseGrpcServices();
        await app.StartAsync();
        if (siloId == "host")
        {
            addresses.Host = new Uri($"http://127.0.0.1:{port}");
        }

        return new BenchNode(app);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
