using System.Diagnostics;
using System.Threading.Channels;
using ControlPlane.Contracts.V1;
using RoutingClient = ControlPlane.Contracts.V1.Routing.RoutingClient;

namespace ControlPlane.Cluster.Benchmarks;

/// <summary>One node's WatchRoutingTable stream: the breaker state of one endpoint and when it changed.</summary>
internal sealed class TableWatcher(RoutingClient client, string endpointId)
{
    private readonly Channel<(string State, long At)> _changes = Channel.CreateUnbounded<(string, long)>();
    private string? _last;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var call = client.WatchRoutingTable(new WatchRoutingTableRequest(), cancellationToken: cancellationToken);
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            var at = Stopwatch.GetTimestamp();
            var state = call.ResponseStream.Current.Endpoints.Single(e => e.EndpointId == endpointId).BreakerState;
            if (state != _last)
            {
                _last = state;
                _changes.Writer.TryWrite((state, at));
            }
        }
    }

    /// <summary>The timestamp at which the endpoint's state became <paramref name="state"/> (skipping older changes).</summary>
    public async Task<long> WaitForAsync(string state, TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        while (true)
        {
            var change = await _changes.Reader.ReadAsync(limit.Token);
            if (change.State == state)
            {
                return change.At;
            }
        }
    }
}
