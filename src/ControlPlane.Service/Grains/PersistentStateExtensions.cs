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
}
