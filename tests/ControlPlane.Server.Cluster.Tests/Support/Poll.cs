using System.Diagnostics;

namespace ControlPlane.Server.Cluster.Tests.Support;

/// <summary>Waits for a condition that the cluster reaches eventually (pushes, migrations, failure detection).
/// Timeouts are generous: they only bound a failing test; the figures a test prints are the measured times.</summary>
internal static class Poll
{
    /// <summary>How long a condition may take before the test fails.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="condition"/> until it is true; exceptions from it count as "not yet" (the
    /// last one is reported) except assertion failures. Returns the time it took.</summary>
    public static async Task<TimeSpan> UntilAsync(Func<Task<bool>> condition, Func<string> failure, TimeSpan? timeout = null, TimeSpan? interval = null)
    {
        var clock = Stopwatch.StartNew();
        var limit = timeout ?? Patience;
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return clock.Elapsed;
                }

                last = null;
            }
            catch (Exception error) when (error is not Xunit.Sdk.XunitException)
            {
                last = error;
            }

            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"{failure()} (waited {limit.TotalSeconds:F0} s){(last is null ? "" : $"; last error: {last.GetType().Name}: {last.Message}")}");
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(25));
        }
    }

    /// <summary>Polls <paramref name="condition"/>; fails naming <paramref name="what"/>.</summary>
    public static Task<TimeSpan> UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null) =>
        UntilAsync(condition, () => $"{what}: not reached", timeout);
}
