using System.Globalization;
using ControlPlane.Domain.Routing;
using ControlPlane.Service.Grains;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.DataPlane;

/// <summary>
/// The node's side of half-open probing. Route never waits for a probe: a decision that finds a half-open candidate
/// without a local slot marks demand on the snapshot (<see cref="RoutingSnapshot.TakeProbeDemand"/>); at each tick of
/// the node's loop this asks that endpoint's grain for one permit (the grain bounds permits cluster-wide and persists
/// each before answering) and installs a granted one as a probe slot. A slot not used within half the probe timeout is
/// dropped, before the grain reclaims it and may grant it to another node, so a node never holds a permit the grain
/// no longer counts. Slots also go when a push shows the breaker left half-open (the node does that on apply).
/// A call made while another is running joins it (one ask per endpoint at a time).
/// </summary>
internal sealed partial class ProbeAsks
{
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _nodeId;
    private readonly string _idPrefix;
    private readonly long _slotLifetimeTicks;
    private readonly long[] _grantedAt;
    // The id of an ask whose answer was lost: the retry reuses it, so the grain answers it as before.
    private readonly string?[] _pending;
    private readonly Lock _lock = new();
    private Task _running = Task.CompletedTask;
    private long _counter;
    private long _granted;

    public ProbeAsks(IGrainFactory grains, TimeProvider time, ILogger logger, string nodeId, string idPrefix, TimeSpan probeTimeout, int endpointCount)
    {
        _grains = grains;
        _time = time;
        _logger = logger;
        _nodeId = nodeId;
        _idPrefix = idPrefix;
        _slotLifetimeTicks = probeTimeout.Ticks / 2;
        _grantedAt = new long[endpointCount];
        _pending = new string?[endpointCount];
    }

    /// <summary>Probe permits granted to this node so far.</summary>
    public long Granted => Interlocked.Read(ref _granted);

    /// <summary>Drops stale slots and asks the grains of endpoints with demand for a permit, if the node's table still
    /// shows them half-open (<paramref name="halfOpen"/>: demand left from an earlier half-open period must not take a
    /// permit the node would then refuse). <paramref name="install"/> adds a granted slot if the endpoint is still
    /// half-open in the node's table (false: the permit is left to the grain's probe timeout).</summary>
    public Task AskAsync(RoutingSnapshot snapshot, Func<int, bool> halfOpen, Func<int, bool> install)
    {
        lock (_lock)
        {
            if (_running.IsCompleted)
            {
                _running = AskOnceAsync(snapshot, halfOpen, install);
            }

            return _running;
        }
    }

    private Task AskOnceAsync(RoutingSnapshot snapshot, Func<int, bool> halfOpen, Func<int, bool> install)
    {
        List<Task>? asks = null;
        var now = _time.GetUtcNow().UtcTicks;
        for (var i = 0; i < snapshot.EndpointCount; i++)
        {
            if (snapshot.ProbeSlotsAt(i) > 0)
            {
                if (now - _grantedAt[i] >= _slotLifetimeTicks)
                {
                    snapshot.TakeProbeSlots(i);
                }

                continue;
            }

            if (snapshot.TakeProbeDemand(i) && halfOpen(i))
            {
                (asks ??= []).Add(AskOneAsync(snapshot.EndpointAt(i).Id, i, install));
            }
        }

        return asks is null ? Task.CompletedTask : Task.WhenAll(asks);
    }

    private async Task AskOneAsync(string endpointId, int index, Func<int, bool> install)
    {
        var id = _pending[index] ??= _idPrefix + "p" + Interlocked.Increment(ref _counter).ToString("x", CultureInfo.InvariantCulture);
        bool granted;
        try
        {
            granted = await _grains.GetGrain<IProviderEndpointGrain>(endpointId).AcquireProbeAsync(new ProbeRequest(_nodeId, id));
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            // The next decision that wants a probe marks demand again; the retry carries the same id.
            LogAskFailed(_logger, endpointId, error);
            return;
        }

        _pending[index] = null;
        if (granted && install(index))
        {
            _grantedAt[index] = _time.GetUtcNow().UtcTicks;
            Interlocked.Increment(ref _granted);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Asking {EndpointId} for a probe permit failed; asked again on the next demand.")]
    private static partial void LogAskFailed(ILogger logger, string endpointId, Exception error);
}
