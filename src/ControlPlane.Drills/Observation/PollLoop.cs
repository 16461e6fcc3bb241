namespace ControlPlane.Drills.Observation;

/// <summary>The watchers' loop (<see cref="ControlPlaneWatcher"/>, <see cref="SimulatorWatcher"/>): one poll at once,
/// then one a second on the drill's clock, until the token fires.</summary>
internal static class PollLoop
{
    /// <summary>Polls until <paramref name="cancellationToken"/> fires.</summary>
    public static async Task RunAsync(TimeProvider time, Func<CancellationToken, Task> poll, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        do
        {
            await poll(cancellationToken).ConfigureAwait(false);
        }
        while (await WaitAsync(timer, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
