namespace ControlPlane.Client.Tests.Support;

internal static class Eventually
{
    /// <summary>Waits for a condition that another thread makes true. The bound only stops a broken test from hanging;
    /// no assertion depends on how long it took.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what)
    {
        using var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (giveUp.IsCancellationRequested)
            {
                Assert.Fail("Never happened: " + what);
            }

            await Task.Delay(5, CancellationToken.None);
        }
    }
}
