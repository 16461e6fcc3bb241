using Orleans.Storage;

namespace ControlPlane.Service.Grains;

/// <summary>The product's one rule for writing grain state.</summary>
internal static class PersistentStateExtensions
{
    /// <summary>Writes the state (etag-checked by the provider). If the write fails or conflicts, the activation holds a
    /// change storage does not: it is deactivated, so the next call reloads what storage holds instead of carrying on
    /// with the unwritten change, and the error reaches the caller (nothing was acknowledged).</summary>
    public static async Task WriteOrReloadAsync<T>(this IPersistentState<T> state, Grain grain)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            grain.DeactivateOnIdle();
            throw;
        }
    }

    /// <summary>Writes the state for a quota desk, which may carry on through a storage outage: a conflict (another
    /// activation wrote: <see cref="InconsistentStateException"/>) deactivates the activation as
    /// <see cref="WriteOrReloadAsync{T}"/> does; any other failure (storage unreachable) leaves it in place, holding the
    /// changes storage lacks until its next write. Either way the error reaches the caller.</summary>
    public static async Task WriteOrKeepAsync<T>(this IPersistentState<T> state, Grain grain)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch (InconsistentStateException)
        {
            grain.DeactivateOnIdle();
            throw;
        }
    }
}
