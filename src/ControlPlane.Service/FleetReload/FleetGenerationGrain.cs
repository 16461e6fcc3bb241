using System.Globalization;
using ControlPlane.Fleet;
using ControlPlane.Service.Audit;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Utilities;

namespace ControlPlane.Service.FleetReload;

/// <summary>Persisted fleet generation.</summary>
[GenerateSerializer, Alias("cp.FleetGenerationState")]
public sealed class FleetGenerationState
{
    /// <summary>The generation in force; null before the first reload.</summary>
    [Id(0)]
    public FleetGeneration? Current { get; set; }

    /// <summary>Audit entries of reloads (and refused reloads) persisted here and not yet known to be in the trail
    /// (written with the reload).</summary>
    [Id(1)]
    public AuditOutboxState? AuditOutbox { get; set; }
}

/// <summary>The cluster's fleet generation: a reload is validated against the generation in force (the stored one, or
/// before the first reload this silo's own file), stored (etag-checked) with its audit entry staged in the same write
/// (the audit outbox; the entry is delivered to the trail after, retried until it lands; a refused reload stores only
/// its entry), adopted by this silo, pushed to every subscribed node, and handed to the endpoint grains whose
/// attributes changed, before it is answered.</summary>
[GrainType("fleetgen")]
internal sealed partial class FleetGenerationGrain(
    [PersistentState("fleetgen", GrainStorage.Name)] IPersistentState<FleetGenerationState> state,
    FleetCatalog catalog, IOptions<ControlPlaneOptions> options, TimeProvider time, ILogger<FleetGenerationGrain> logger)
    : Grain, IFleetGenerationGrain
{
    /// <summary>The one fleet generation grain's key.</summary>
    public const string Key = "fleet";

    private const int MaxAuditSummary = 4000;

    private readonly ObserverManager<IFleetObserver> _observers =
        new(options.Value.SubscriptionExpiry, logger) { GetDateTime = () => time.GetUtcNow().UtcDateTime };

    private GrainAuditOutbox? _auditOutbox;

    private GrainAuditOutbox AuditOutbox => _auditOutbox ??= new GrainAuditOutbox(this, GrainFactory, () => state.State.AuditOutbox ??= new AuditOutboxState(), logger);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Current is { } stored)
        {
            AdoptHere(stored);
        }

        AuditOutbox.Resume();
        return Task.CompletedTask;
    }

    public Task<FleetGeneration?> GetAsync() => Task.FromResult(state.State.Current);

    public Task<long> GetNumberAsync() => Task.FromResult(state.State.Current?.Number ?? 0);

    public Task<FleetGeneration?> SubscribeAsync(IFleetObserver observer)
    {
        _observers.Subscribe(observer, observer);
        return Task.FromResult(state.State.Current);
    }

    public async Task<FleetReloadOutcome> ReloadAsync(string source, string text, AdminActor actor, string reason)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var stored = state.State.Current;
        var number = stored?.Number ?? 0;
        var inForce = stored is null ? catalog.Fleet : FleetGenerations.Parse(stored);
        FleetDefinition next;
        try
        {
            if (text.Length > FleetGenerations.MaxTextLength)
            {
                throw new FleetConfigException([new FleetConfigError(source, 0, 0, "", $"is larger than {FleetGenerations.MaxTextLength} characters")]);
            }

            next = FleetLoader.Load(new StringReader(text), source);
        }
        catch (FleetConfigException error)
        {
            return await RefuseAsync(actor, reason, number, inForce, [.. error.Errors.Select(e => new FleetReloadProblem(e.Field.Length > 0 ? e.Field : "fleet", e.ToString()))]);
        }

        var diff = FleetDiff.Compare(inForce, next);
        if (diff.Refusals.Count > 0)
        {
            return await RefuseAsync(actor, reason, number, inForce, diff.Refusals);
        }

        if (diff.Changes.Count == 0)
        {
            // The file matches the generation in force (a retried call, or only comments changed): nothing to do.
            return new FleetReloadOutcome(true, number, stored?.Source ?? inForce.SourceName, [], []);
        }

        var generation = new FleetGeneration(number + 1, source, text, time.GetUtcNow());
        await CommitAsync(new AuditEntry(0, default, actor, "fleet.reload", "fleet", reason,
            Describe(number, inForce), Bound($"{Describe(generation.Number, next)}: {string.Join("; ", diff.Changes)}")),
            () => state.State.Current = generation);
        AdoptHere(generation);
        await PushAsync(generation);
        await Task.WhenAll(diff.ChangedEndpoints.Select(id => AdoptAtAsync(id, generation)));
        LogReloaded(logger, generation.Number, source, diff.Changes.Count, actor.Principal);
        return new FleetReloadOutcome(true, generation.Number, source, diff.Changes, []);
    }

    private async Task<FleetReloadOutcome> RefuseAsync(AdminActor actor, string reason, long number, FleetDefinition inForce, IReadOnlyList<FleetReloadProblem> refusals)
    {
        await CommitAsync(new AuditEntry(0, default, actor, "fleet.reload.refused", "fleet", reason,
            Describe(number, inForce), Bound("refused, nothing changed: " + string.Join("; ", refusals.Select(r => $"{r.Field}: {r.Message}")))), null);
        return new FleetReloadOutcome(false, number, inForce.SourceName, [], refusals);
    }

    // A reload and its audit entry are one write (the outbox in this grain's state), then the entry goes to the trail:
    // a reload that is stored always reaches the trail, retried until it does. A full outbox refuses the reload unapplied.
    private async Task CommitAsync(AuditEntry entry, Action? change)
    {
        await AuditOutbox.EnsureRoomAsync();
        change?.Invoke();
        AuditOutbox.Stage(entry);
        await state.WriteOrReloadAsync(this);
        await AuditOutbox.DeliverAsync();
    }

    private void AdoptHere(FleetGeneration generation)
    {
        try
        {
            if (catalog.Adopt(generation) == FleetAdoption.Incompatible)
            {
                LogIncompatible(logger, generation.Number);
            }
        }
        catch (FleetConfigException error)
        {
            LogUnreadable(logger, generation.Number, error);
        }
    }

    private Task PushAsync(FleetGeneration generation)
    {
        _observers.ClearExpired();
        return Task.WhenAll(_observers.Observers.Values.ToArray().Select(async observer =>
        {
            try
            {
                await observer.OnFleetChangedAsync(generation).WaitAsync(options.Value.PushTimeout);
            }
            catch (Exception error) when (error is not OutOfMemoryException)
            {
                // Unreachable or slow: it reads the generation when it next subscribes (a third of the expiry).
                _observers.Unsubscribe(observer);
            }
        }));
    }

    private async Task AdoptAtAsync(string endpointId, FleetGeneration generation)
    {
        try
        {
            await GrainFactory.GetGrain<IFleetMemberGrain>(endpointId).AdoptFleetAsync(generation);
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            // The endpoint grain checks its silo's catalog on its own timer and catches up from there.
            LogMemberFailed(logger, endpointId, error);
        }
    }

    private static string Describe(long number, FleetDefinition fleet) =>
        string.Create(CultureInfo.InvariantCulture, $"generation {number} (version {fleet.Version ?? "-"}, {fleet.Endpoints.Length} endpoints, {fleet.Classes.Length} classes)");

    private static string Bound(string text) => text.Length <= MaxAuditSummary ? text : text[..MaxAuditSummary] + " ...";

    [LoggerMessage(Level = LogLevel.Information, Message = "Fleet generation {Generation} stored from {Source} ({Changes} changes, by {Principal}).")]
    private static partial void LogReloaded(ILogger logger, long generation, string source, int changes, string principal);

    [LoggerMessage(Level = LogLevel.Error, Message = "Fleet generation {Generation} lists other endpoints or classes than this silo runs: not adopted; restart this node with the cluster's fleet file.")]
    private static partial void LogIncompatible(ILogger logger, long generation);

    [LoggerMessage(Level = LogLevel.Error, Message = "Fleet generation {Generation} cannot be read by this build's loader: not adopted.")]
    private static partial void LogUnreadable(ILogger logger, long generation, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Endpoint {Endpoint} did not take the new fleet generation now; it catches up on its timer.")]
    private static partial void LogMemberFailed(ILogger logger, string endpoint, Exception error);
}
