using ControlPlane.Service.Security;

namespace ControlPlane.Service.FleetReload;

/// <summary>One stored fleet generation: the fleet file's text as validated and applied by a reload. Every node parses
/// the same text with the same loader, so every node runs the same fleet.</summary>
/// <param name="Number">The generation number; 1 for the first reload, +1 for each later one.</param>
/// <param name="Source">The file the text was read from.</param>
/// <param name="Text">The YAML text.</param>
/// <param name="At">When the generation was stored.</param>
[Immutable]
public sealed record FleetGeneration(long Number, string Source, string Text, DateTimeOffset At);

/// <summary>A reason a reload is refused (the field as the fleet file names it, and what is wrong).</summary>
public sealed record FleetReloadProblem(string Field, string Message);

/// <summary>What a reload did: applied (a new generation, or none when nothing changed) or refused with every reason.</summary>
/// <param name="Applied">False when refused; nothing changed then.</param>
/// <param name="Version">The generation in force after the call.</param>
/// <param name="Source">The file of the generation in force.</param>
/// <param name="Changes">What changed (empty when the file matches the generation in force).</param>
/// <param name="Refusals">Why it was refused (empty when applied).</param>
[Immutable]
public sealed record FleetReloadOutcome(bool Applied, long Version, string Source, IReadOnlyList<string> Changes, IReadOnlyList<FleetReloadProblem> Refusals);

/// <summary>The cluster's fleet generation (key <see cref="FleetGenerationGrain.Key"/>): stores each reloaded fleet
/// (persisted, etag-checked) before it is audited, pushed to every node and answered.</summary>
[Alias("cp.IFleetGenerationGrain")]
public interface IFleetGenerationGrain : IGrainWithStringKey
{
    /// <summary>The stored generation; null before the first reload (every node then runs its own file).</summary>
    [Alias("get"), ReadOnly, AlwaysInterleave]
    Task<FleetGeneration?> GetAsync();

    /// <summary>The stored generation's number (0 before the first reload); cheap, for grain activations.</summary>
    [Alias("number"), ReadOnly, AlwaysInterleave]
    Task<long> GetNumberAsync();

    /// <summary>Validates <paramref name="text"/> against the generation in force and applies it as the next one.</summary>
    [Alias("reload")]
    Task<FleetReloadOutcome> ReloadAsync(string source, string text, AdminActor actor, string reason);

    /// <summary>Subscribes (or renews) a node's observer; answers the stored generation, if any.</summary>
    [Alias("subscribe")]
    Task<FleetGeneration?> SubscribeAsync(IFleetObserver observer);
}

/// <summary>A node's receiver of new fleet generations.</summary>
[Alias("cp.IFleetObserver")]
public interface IFleetObserver : IGrainObserver
{
    /// <summary>A new generation was stored.</summary>
    [Alias("changed")]
    Task OnFleetChangedAsync(FleetGeneration generation);
}

/// <summary>A grain that follows fleet generations in place (the endpoint grain: limits, prices, baseline seeds).</summary>
[Alias("cp.IFleetMemberGrain")]
public interface IFleetMemberGrain : IGrainWithStringKey
{
    /// <summary>Adopts <paramref name="generation"/> into this silo's catalog and re-reads this grain's definition.</summary>
    [Alias("adopt")]
    Task AdoptFleetAsync(FleetGeneration generation);
}
