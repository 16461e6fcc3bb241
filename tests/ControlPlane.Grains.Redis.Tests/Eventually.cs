namespace ControlPlane.Grains.Redis.Tests;

/// <summary>Waits for a condition that real timers (leases, heartbeats, pub/sub) will make true; the limit only keeps
/// a broken build from hanging, it is not a speed assertion.</summary>
internal static class Eventually
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(20);

    public static async Task TrueAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + s_limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Still waiting for: {what}");
            }

            await Task.Delay(20);
        }
    }

    public static async Task<T> ValueAsync<T>(Func<Task<T>> attempt, Func<T, bool> done, string what)
    {
        var deadline = DateTime.UtcNow + s_limit;
        while (true)
        {
            var value = await attempt();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Still waiting for: {what}");
            }

            await Task.Delay(20);
        }
    }
}
