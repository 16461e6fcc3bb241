namespace ControlPlane.Simulator.Endpoints;

/// <summary>An endpoint's cumulative counters, as <c>GET /sim/v1/stats</c> shows them.</summary>
/// <param name="Requests">Requests that reached the endpoint.</param>
/// <param name="ByStatus">Answers by HTTP status (<c>"200"</c>, <c>"429"</c>, ...) plus <c>"reset"</c> for reset connections.</param>
/// <param name="DuringFault">Requests that arrived while a fault was active on the endpoint.</param>
/// <param name="InputTokens">Input tokens of answered (200) requests.</param>
/// <param name="OutputTokens">Output tokens of answered (200) requests.</param>
/// <param name="Refusals">Times the endpoint's port stopped listening (refused connections never reach it, so they
/// cannot be counted one by one).</param>
public sealed record EndpointStatsSnapshot(
    long Requests, IReadOnlyDictionary<string, long> ByStatus, long DuringFault, long InputTokens, long OutputTokens, long Refusals);

/// <summary>The counters behind <see cref="EndpointStatsSnapshot"/>; thread-safe.</summary>
internal sealed class EndpointStats
{
    private readonly Lock _gate = new();
    private readonly SortedDictionary<string, long> _byStatus = new(StringComparer.Ordinal);
    private long _requests;
    private long _duringFault;
    private long _inputTokens;
    private long _outputTokens;
    private long _refusals;

    /// <summary>Counts one request's outcome: <paramref name="status"/> is the HTTP status or <c>reset</c>.</summary>
    public void Record(string status, bool duringFault, long inputTokens, long outputTokens)
    {
        lock (_gate)
        {
            _requests++;
            _byStatus[status] = _byStatus.GetValueOrDefault(status) + 1;
            if (duringFault)
            {
                _duringFault++;
            }

            _inputTokens = checked(_inputTokens + inputTokens);
            _outputTokens = checked(_outputTokens + outputTokens);
        }
    }

    /// <summary>Counts the port closing for a refused outage.</summary>
    public void RecordRefusal()
    {
        lock (_gate)
        {
            _refusals++;
        }
    }

    /// <summary>A consistent copy of the counters.</summary>
    public EndpointStatsSnapshot Snapshot()
    {
        lock (_gate)
        {
            return new EndpointStatsSnapshot(
                _requests, new SortedDictionary<string, long>(_byStatus, StringComparer.Ordinal), _duringFault, _inputTokens, _outputTokens, _refusals);
        }
    }
}
