namespace ControlPlane.Service.Tests.Support;

/// <summary>Waits, bounded, for an effect that happens on a node's or grain's own loop after the fake clock ticks.</summary>
internal static class Eventually
{
    /// <summary>Reads every 10 ms until <paramref name="done"/> holds or <paramref name="attempts"/> reads were made;
    /// returns the last value read (the caller's assertion then says what was wrong).</summary>
    public static async Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done, int attempts)
    {
        for (var i = 0; i < attempts; i++)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            await Task.Delay(10);
        }

        return await read();
    }
}
