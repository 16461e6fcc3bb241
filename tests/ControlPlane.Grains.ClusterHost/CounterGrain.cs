using System.Collections.Concurrent;

namespace ControlPlane.Grains.ClusterHost;

/// <summary>The test counter: state written on every increment, so an acknowledged increment is durable.</summary>
public interface ICounterGrain : IGrainWithStringKey
{
    /// <summary>Adds one and returns the new value (after the write).</summary>
    Task<long> Increment();

    /// <summary>The current value.</summary>
    Task<long> Get();
}

/// <summary>The counter's persisted state.</summary>
public sealed class CounterState
{
    /// <summary>The count.</summary>
    public long Value { get; set; }
}

/// <summary>What this node's counters did, for the driver.</summary>
internal sealed class NodeRecord
{
    public ConcurrentDictionary<string, int> Activations { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, bool> Live { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, string> Fenced { get; } = new(StringComparer.Ordinal);
}

internal sealed class CounterGrain(NodeRecord record) : Grain<CounterState>, ICounterGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        record.Activations.AddOrUpdate(GetPrimaryKeyString(), 1, (_, n) => n + 1);
        record.Live[GetPrimaryKeyString()] = true;
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        record.Live.TryRemove(GetPrimaryKeyString(), out _);
        return Task.CompletedTask;
    }

    public async Task<long> Increment()
    {
        State.Value++;
        try
        {
            await WriteStateAsync();
        }
        catch (GrainFencedException error)
        {
            // A newer activation owns the grain: this one is a zombie and must go.
            record.Fenced[GetPrimaryKeyString()] = error.GetType().Name;
            DeactivateOnIdle();
            throw;
        }
        catch (Exception)
        {
            // The write failed or may have landed (a lost connection, an etag conflict): memory no longer matches
            // storage, so the next call re-reads it in a fresh activation instead of failing on a stale etag forever.
            DeactivateOnIdle();
            throw;
        }

        return State.Value;
    }

    public Task<long> Get() => Task.FromResult(State.Value);
}
