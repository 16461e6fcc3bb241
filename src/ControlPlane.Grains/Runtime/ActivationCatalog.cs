using System.Collections.Concurrent;

namespace ControlPlane.Grains.Runtime;

/// <summary>This silo's live activations, one per grain id, and the delivery of turns to them.</summary>
internal sealed class ActivationCatalog(GrainRuntime runtime)
{
    private readonly ConcurrentDictionary<GrainId, GrainActivation> _activations = new();

    public int Count => _activations.Count;

    public ICollection<GrainActivation> Activations => _activations.Values;

    /// <summary>Hands a turn to the grain's activation, activating it first if needed.</summary>
    public void Deliver(GrainTurn turn, GrainId target)
    {
        // Fast path: a live activation takes the turn synchronously.
        if (_activations.TryGetValue(target, out var activation) && activation.TryEnqueue(turn))
        {
            return;
        }

        _ = DeliverSlowAsync(turn, target);
    }

    public void AddObserver(GrainActivation activation)
    {
        if (!_activations.TryAdd(activation.GrainId, activation))
        {
            throw new InvalidOperationException($"Observer {activation.GrainId} already exists.");
        }
    }

    public bool TryGet(GrainId id, out GrainActivation activation) => _activations.TryGetValue(id, out activation!);

    public void Remove(GrainActivation activation) =>
        _activations.TryRemove(new KeyValuePair<GrainId, GrainActivation>(activation.GrainId, activation));

    private async Task DeliverSlowAsync(GrainTurn turn, GrainId target)
    {
        while (true)
        {
            if (!_activations.TryGetValue(target, out var activation))
            {
                if (!runtime.AcceptsActivations)
                {
                    turn.Fail(new GrainSiloStoppingException(target));
                    return;
                }

                if (target.IsObserver)
                {
                    turn.Fail(new GrainObserverGoneException(target));
                    return;
                }

                if (!runtime.Registry.TryGetByTypeName(target.Type, out var grainClass))
                {
                    turn.Fail(new GrainTypeNotRegisteredException($"grain type '{target.Type}'"));
                    return;
                }

                var created = GrainActivation.ForGrain(runtime, target, grainClass);
                if (!_activations.TryAdd(target, created))
                {
                    continue;
                }

                // Queue first, then start: if the activation fails or is forwarded at once, this turn is among the
                // queued ones it fails or forwards, instead of finding it gone and trying to activate again.
                created.TryEnqueue(turn);
                created.Start();
                return;
            }

            if (activation.TryEnqueue(turn))
            {
                return;
            }

            // The activation is deactivating: wait until it has left, then activate anew.
            await activation.Deactivated;
        }
    }
}
