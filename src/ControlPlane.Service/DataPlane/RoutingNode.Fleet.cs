using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Routing;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.DataPlane;

// Fleet reloads: a new generation (same endpoints and classes in the same order, FleetCatalog.TryAdopt guarantees it)
// replaces the snapshot's endpoint descriptors (context window, capabilities, limits, prices, region, model) in one
// atomic snapshot swap, re-prices the spend gate, and opens or closes the lease slot of an endpoint whose limits
// appeared or went away. Class policies stay as their grains pushed them (a reload never changes them).
internal sealed partial class RoutingNode
{
    private void OnFleetChanged(FleetCatalogSnapshot next)
    {
        var descriptors = next.Fleet.Descriptors;
        var returns = new List<(int Index, LeaseSettlement Settlement)>();
        lock (_tableLock)
        {
            var current = Snapshot;
            var policies = Enumerable.Range(0, current.ClassCount).Select(current.ClassAt).ToList();
            var rebuilt = RoutingSnapshot.Create(descriptors, _views, policies, current.Version + 1);
            for (var i = 0; i < current.EndpointCount; i++)
            {
                rebuilt.SetLoad(i, current.LoadAt(i));
                rebuilt.AddProbeSlots(i, current.TakeProbeSlots(i));
            }

            lock (_quotaLock)
            {
                for (var i = 0; i < descriptors.Length; i++)
                {
                    var d = descriptors[i];
                    _quota.SetEndpointPrice(i, SpendPrice.FromUsd(d.PricePer1kInput, d.PricePer1kOutput));
                }
            }

            rebuilt.CarryInFlightFrom(current);
            Volatile.Write(ref _snapshot, rebuilt);
            _quota.SetPriorities(rebuilt);
            for (var i = 0; i < descriptors.Length; i++)
            {
                var limited = descriptors[i].TokensPerMinute > 0 || descriptors[i].RequestsPerMinute > 0;
                if (limited == Volatile.Read(ref _limited[i]))
                {
                    continue;
                }

                // Newly limited: an empty (refusing) wallet until the grain grants, exactly as at start. No longer
                // limited: no wallet (unlimited), and the lease it held goes back.
                var settlement = SwapWallet(LeaseOwner.Endpoint, i, limited ? new LeaseWallet(_options.Lease, _time) : null);
                Volatile.Write(ref _limited[i], limited);
                returns.Add((i, settlement));
            }

            BumpTable();
        }

        // Off the caller's thread: a grain turn (the fleet grain on this silo) may be the one adopting.
        foreach (var (index, settlement) in returns)
        {
            _ = Task.Run(() => ReturnAsync(LeaseOwner.Endpoint, index, settlement), CancellationToken.None);
        }

        LogFleetAdopted(_logger, next.Generation);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Routing table follows fleet generation {Generation}.")]
    private static partial void LogFleetAdopted(ILogger logger, long generation);
}
