using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Testing;
using Grpc.Net.Client;

namespace ControlPlane.Server.Cluster.Tests.Support;

/// <summary>The clients a multi-process harness (<c>Faults/FaultCluster</c>, <c>Regions/TwoRegionFixture</c>) talks to
/// its <c>controlplane</c> processes with: one admin <see cref="HttpClient"/> (the test credentials, no client-side
/// timeout: each call brings its own) and one gRPC channel per node address, reconnecting within a second once a
/// restarted node listens again (the default backoff grows to 2 minutes).</summary>
internal sealed class NodeClients : IDisposable
{
    private readonly Dictionary<string, (GrpcChannel Channel, Routing.RoutingClient Client)> _grpc = new(StringComparer.Ordinal);

    /// <summary>The admin HTTP client.</summary>
    public HttpClient Http { get; } = new(TestCredentials.Handler()) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>The Routing client of the node serving gRPC at <paramref name="grpcAddress"/> (one channel per address).</summary>
    public Routing.RoutingClient Routing(string grpcAddress)
    {
        lock (_grpc)
        {
            if (!_grpc.TryGetValue(grpcAddress, out var entry))
            {
                var channel = GrpcChannel.ForAddress(grpcAddress, new GrpcChannelOptions
                {
                    HttpHandler = TestCredentials.Handler(),
                    InitialReconnectBackoff = TimeSpan.FromMilliseconds(100),
                    MaxReconnectBackoff = TimeSpan.FromSeconds(1),
                });
                entry = (channel, new Routing.RoutingClient(channel));
                _grpc[grpcAddress] = entry;
            }

            return entry.Client;
        }
    }

    /// <summary>GET a JSON document from a node's admin API, or null on a non-200, a timeout or a refused connection.</summary>
    public async Task<JsonElement?> TryGetJsonAsync(Uri adminAddress, string path, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            using var response = await Http.GetAsync(new Uri(adminAddress, path), cts.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return null;
            }

            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cts.Token));
            return document.RootElement.Clone();
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Polls a condition every 100 ms until it holds; after <paramref name="bound"/> (a hang catcher) throws a
    /// <see cref="TimeoutException"/> naming <paramref name="what"/> with <paramref name="logs"/> (the processes' output
    /// tails). Exceptions from the condition propagate. Returns the time it took.</summary>
    public static async Task<TimeSpan> WaitUntilAsync(string what, TimeSpan bound, Func<Task<bool>> condition, Func<string> logs)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await condition())
            {
                return clock.Elapsed;
            }

            if (clock.Elapsed > bound)
            {
                throw new TimeoutException($"Not within {bound.TotalSeconds:F0} s: {what}.\n{logs()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Disposes every channel and the HTTP client.</summary>
    public void Dispose()
    {
        lock (_grpc)
        {
            foreach (var (channel, _) in _grpc.Values)
            {
                channel.Dispose();
            }

            _grpc.Clear();
        }

        Http.Dispose();
    }
}
