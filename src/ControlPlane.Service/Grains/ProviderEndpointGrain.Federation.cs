using ControlPlane.Service.Federation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Grains;

/// <summary>Federation (<c>docs/regions.md</c>): in a region other than the endpoint's home region the grain is a
/// <b>follower</b>. It adopts the home region's published state from the change feed (a newer home version only, never
/// back), persists it before pushing it, and its nodes route on it: a restarted follower routes on the last state it
/// adopted (fail-static). Without federation, or in the home region, nothing here changes the grain.</summary>
internal sealed partial class ProviderEndpointGrain
{
    private FederationOptions? _federation;

    private FederationOptions Federation => _federation ??= ServiceProvider.GetService<IOptions<FederationOptions>>()?.Value ?? new FederationOptions();

    /// <summary>True when federation is on and the endpoint is homed in another region.</summary>
    private bool IsFollower => Federation.Region is { } region && !string.Equals(_descriptor.Region, region, StringComparison.Ordinal);

    /// <summary>What nodes route on: the home region's adopted state in a follower, else this grain's own health.</summary>
    private Domain.Endpoints.EndpointHealthView RoutingView() =>
        !IsFollower ? _health.Current() : WithPendingOverride(State.Followed?.View ?? Domain.Endpoints.EndpointHealthView.Healthy);

    private Domain.Routing.EndpointLoad RoutingLoad() => IsFollower && State.Followed is { } followed ? followed.Load : _load;

    public async Task<bool> AdoptHomeStateAsync(FollowedEndpoint followed)
    {
        ArgumentNullException.ThrowIfNull(followed);
        if (!IsFollower || (State.Followed is { } current && followed.HomeVersion <= current.HomeVersion))
        {
            return false;
        }

        State.Followed = followed;
        State.Version = PublicationVersion.Next(State.Version, time);
        // Persisted before it is pushed: a node never routes on a state a restart would forget.
        await PersistAsync();
        var status = Status();
        await _subscribers.NotifyAsync(observer => observer.OnEndpointChangedAsync(status));
        return true;
    }

    private void ForwardOutcomes(OutcomeBatch batch) =>
        ServiceProvider.GetService<FederationOutcomeForwarder>()?.Enqueue(_descriptor.Region, batch.Outcomes);

    public Task<long> GetFollowedVersionAsync() => Task.FromResult(State.Followed?.HomeVersion ?? 0);
}
