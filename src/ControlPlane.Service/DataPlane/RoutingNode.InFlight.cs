using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Routing;

namespace ControlPlane.Service.DataPlane;

// Node-local requests in flight per endpoint, for power-of-two-choices (Router.Cost). A decision issued for an endpoint
// counts one (RoutingSnapshot.AddInFlight, under the quota lock that tracks it as pending); its outcome reported here
// releases it; a decision whose outcome never comes back here (reported to another node, or lost) is released by the
// loop once it is ControlPlaneOptions.InFlightExpiry old, so the count cannot leak. Decision numbers grow with time, so
// expiry walks a cursor over them: every pending decision numbered below _inFlightFrom is no longer counted.
internal sealed partial class RoutingNode
{
    // Decision numbers one lock hold of the expiry walk looks at, so Route never waits long on it.
    private const int InFlightExpiryChunk = 1024;

    // The lowest decision number whose pending decision still counts in flight. Guarded by _quotaLock.
    private long _inFlightFrom = 1;

    /// <summary>Counts decision <paramref name="number"/> in flight to its endpoint and tracks it as pending. Under
    /// <see cref="_quotaLock"/>. A decision the ring displaces (never reported, <see cref="PendingDecisions.Capacity"/>
    /// numbers older) is released first.</summary>
    private void TrackDecision(RoutingSnapshot snapshot, long number, in QuotaTicket ticket, long madeAtTicks)
    {
        var displaced = number - _decisions.Capacity;
        if (displaced >= _inFlightFrom && _decisions.TryRemove(displaced, out var old))
        {
            snapshot.ReleaseInFlight(old.EndpointIndex);
        }

        _decisions.Add(number, ticket, madeAtTicks);
        snapshot.AddInFlight(ticket.EndpointIndex);
    }

    /// <summary>Releases the in-flight count of a pending decision just removed for its outcome, unless expiry released
    /// it already. Under <see cref="_quotaLock"/>.</summary>
    private void ReleaseDecision(long number, in QuotaTicket ticket)
    {
        if (number >= _inFlightFrom)
        {
            Snapshot.ReleaseInFlight(ticket.EndpointIndex);
        }
    }

    /// <summary>Stops counting in flight every pending decision made before <paramref name="now"/> − InFlightExpiry
    /// (they stay pending for their quota reconciliation). Runs on the node's loop.</summary>
    internal void ExpireInFlight(DateTimeOffset now)
    {
        var cutoff = (now - _options.InFlightExpiry).UtcTicks;
        var snapshot = Snapshot;
        while (true)
        {
            lock (_quotaLock)
            {
                var last = Interlocked.Read(ref _decisionCounter);
                // Older numbers than the ring holds were displaced (and released) already.
                _inFlightFrom = Math.Max(_inFlightFrom, last - _decisions.Capacity + 1);
                for (var i = 0; i < InFlightExpiryChunk; i++, _inFlightFrom++)
                {
                    if (_inFlightFrom > last)
                    {
                        return;
                    }

                    if (_decisions.TryGetMadeAt(_inFlightFrom, out var madeAt, out var endpointIndex))
                    {
                        if (madeAt >= cutoff)
                        {
                            return;
                        }

                        snapshot.ReleaseInFlight(endpointIndex);
                    }
                }
            }
        }
    }
}
