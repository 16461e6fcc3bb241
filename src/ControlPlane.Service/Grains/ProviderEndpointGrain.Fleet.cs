using ControlPlane.Domain.Quotas;
using ControlPlane.Fleet;
using ControlPlane.Service.FleetReload;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Grains;

// Fleet reloads: the endpoint's definition (limits, prices, baseline seeds, descriptor) follows the cluster's fleet
// generation in place, keeping its subscribers, health windows and leases.
internal sealed partial class ProviderEndpointGrain : IFleetMemberGrain
{
    private static readonly TimeSpan ActivationFleetCheck = TimeSpan.FromSeconds(1);
    private long _fleetGeneration;

    public async Task AdoptFleetAsync(FleetGeneration generation)
    {
        ArgumentNullException.ThrowIfNull(generation);
        try
        {
            catalog.Adopt(generation);
        }
        catch (FleetConfigException error)
        {
            logger.LogError(error, "Endpoint {Endpoint}: fleet generation {Generation} cannot be read by this build.", _descriptor.Id, generation.Number);
        }

        await FollowCatalogAsync();
    }

    // Before the definition is read at activation: a silo that started with an older file (or has not heard of the
    // last reload yet) takes the cluster's generation first. Unreachable: the silo's catalog is used as it is.
    private async Task AdoptClusterFleetAsync()
    {
        try
        {
            // Bounded: a fleet grain on a silo that is going away must not hold up this activation (the timer below
            // catches up from the silo's catalog, which the node's fleet watcher keeps current).
            var fleet = GrainFactory.GetGrain<IFleetGenerationGrain>(FleetGenerationGrain.Key);
            if (await fleet.GetNumberAsync().WaitAsync(ActivationFleetCheck) > catalog.Generation
                && await fleet.GetAsync().WaitAsync(ActivationFleetCheck) is { } stored)
            {
                catalog.Adopt(stored);
            }
        }
        catch (Exception error) when (error is not (OutOfMemoryException or OperationCanceledException))
        {
            logger.LogWarning(error, "Endpoint {Endpoint}: the cluster's fleet generation could not be read; activating with this silo's.", this.GetPrimaryKeyString());
        }

        _fleetGeneration = catalog.Generation;
        this.RegisterGrainTimer(_ => FollowCatalogAsync(), new GrainTimerCreationOptions(_options.EvaluationPeriod, _options.EvaluationPeriod));
    }

    // Re-reads the definition when this silo's catalog moved to a newer generation; new limits re-size the quota desk
    // (its ledger carries the leases over, see QuotaLeaseLedger.Restore) and are persisted before anything is granted
    // from them.
    private async Task FollowCatalogAsync()
    {
        var current = catalog.Current;
        if (current.Generation <= _fleetGeneration || !current.Endpoints.TryGetValue(_descriptor.Id, out var entry))
        {
            return;
        }

        _fleetGeneration = current.Generation;
        var previous = _descriptor;
        _descriptor = entry.Descriptor;
        if (entry.Baseline is { } seed)
        {
            _health.SeedBaselines(seed);
        }

        ApplyRecoveryGate(entry);
        if (previous.TokensPerMinute != _descriptor.TokensPerMinute || previous.RequestsPerMinute != _descriptor.RequestsPerMinute)
        {
            _quota = QuotaDesk.Create(QuotaLimits.PerMinute(_descriptor.TokensPerMinute, _descriptor.RequestsPerMinute), _quota.Export(),
                _options.Lease, time, _options.LeaseOutageShare);
            await PersistQuotaAsync();
        }

        logger.LogInformation("Endpoint {Endpoint} follows fleet generation {Generation}.", _descriptor.Id, current.Generation);
    }
}
