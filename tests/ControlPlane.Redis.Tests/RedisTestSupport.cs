using System.Diagnostics;
using ControlPlane.Testing.Redis;

namespace ControlPlane.Redis.Tests;

/// <summary>Options pointing at a test server, and waits with a hang guard (never a speed assertion).</summary>
internal static class RedisTestSupport
{
    // Only guards against a hung test; nothing asserts how fast the condition became true.
    public static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(20);

    public static RedisOptions Options(RedisServerFixture server, Action<RedisOptions>? configure = null)
    {
        var options = new RedisOptions
        {
            Endpoint = server.Endpoint,
            Password = server.Password,
            ReconnectMinDelay = TimeSpan.FromMilliseconds(20),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
        };
        configure?.Invoke(options);
        return options;
    }

    public static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > HangGuard)
            {
                throw new TimeoutException($"Gave up waiting: {what}.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Completes when <paramref name="subscribe"/>'s event reports <paramref name="state"/>.</summary>
    public static Task<RedisConnectionStateChangedEventArgs> NextState(
        Action<EventHandler<RedisConnectionStateChangedEventArgs>> subscribe, RedisConnectionState state)
    {
        var seen = new TaskCompletionSource<RedisConnectionStateChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        subscribe((_, e) =>
        {
            if (e.State == state)
            {
                seen.TrySetResult(e);
            }
        });
        return seen.Task.WaitAsync(HangGuard);
    }
}
