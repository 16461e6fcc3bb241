using System.Text.Json;

namespace ControlPlane.Server.Tests.Federation;

/// <summary>Polling an admin view of another region until it shows a change (federation is asynchronous).</summary>
internal static class FederationPolling
{
    /// <summary>How long a change may take to cross regions in these tests (a loaded CI machine included).</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Reads <paramref name="read"/> every 100 ms until <paramref name="done"/>; throws naming
    /// <paramref name="what"/> and the last read after <see cref="Bound"/>.</summary>
    public static async Task<JsonElement> UntilAsync(Func<Task<JsonElement>> read, Func<JsonElement, bool> done, string what)
    {
        using var timeout = new CancellationTokenSource(Bound);
        JsonElement last = default;
        while (!timeout.IsCancellationRequested)
        {
            last = await read();
            if (done(last))
            {
                return last;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{what}; last: {last}");
    }
}
