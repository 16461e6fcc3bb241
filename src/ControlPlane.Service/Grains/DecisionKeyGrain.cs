using System.Security.Cryptography;

namespace ControlPlane.Service.Grains;

/// <summary>The cluster's decision key (key <see cref="DecisionKeyGrain.Key"/>): generated once per cluster and
/// persisted, so every node of the cluster signs and verifies decision ids with the same key without configuration.
/// A node configured with <see cref="ControlPlaneOptions.DecisionKey"/> does not ask.</summary>
[Alias("cp.IDecisionKeyGrain")]
public interface IDecisionKeyGrain : IGrainWithStringKey
{
    /// <summary>The key (32 bytes), created and persisted on first use.</summary>
    [Alias("key")]
    Task<byte[]> GetKeyAsync();
}

/// <summary>Persisted state of the decision key grain.</summary>
[GenerateSerializer, Alias("cp.DecisionKeyGrainState")]
public sealed class DecisionKeyGrainState
{
    /// <summary>The key; null until first generated.</summary>
    [Id(0)]
    public byte[]? Key { get; set; }
}

/// <summary>Holds the cluster's decision key. The key is written (etag-checked) before it is ever handed out: a
/// concurrent activation that lost the write reloads the winner's key, so two nodes never sign with different keys.</summary>
[GrainType("decision-key")]
internal sealed class DecisionKeyGrain(
    [PersistentState("decision-key", GrainStorage.Name)] IPersistentState<DecisionKeyGrainState> state)
    : Grain, IDecisionKeyGrain
{
    /// <summary>The one decision key grain's key.</summary>
    public const string Key = "cluster";

    private const int KeyBytes = 32;

    public async Task<byte[]> GetKeyAsync()
    {
        if (state.State.Key is not { Length: KeyBytes } key)
        {
            state.State.Key = RandomNumberGenerator.GetBytes(KeyBytes);
            await state.WriteOrReloadAsync(this);
            key = state.State.Key;
        }

        return key;
    }
}
