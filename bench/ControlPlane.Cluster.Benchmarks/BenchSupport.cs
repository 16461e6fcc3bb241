using System.Diagnostics;
using System.Globalization;
using ControlPlane.Contracts.V1;
using Grpc.Core;
using RoutingClient = ControlPlane.Contracts.V1.Routing.RoutingClient;

namespace ControlPlane.Cluster.Benchmarks;

/// <summary>What the cluster benchmarks (<see cref="Program"/>, <see cref="FederationPropagation"/>) share: Route
/// polling against one target endpoint, the result table rows and the command-line numbers.</summary>
internal static class BenchSupport
{
    /// <summary>Whether a decision chose or listed <paramref name="target"/>.</summary>
    public static bool Lists(RouteDecision decision, string target) => decision.EndpointId == target || decision.Fallbacks.Contains(target);

    /// <summary>Calls Route until a decision lists <paramref name="target"/> (or, with <paramref name="shouldList"/>
    /// false, does not); the milliseconds from <paramref name="start"/> (a <see cref="Stopwatch"/> timestamp) to that
    /// answer. <paramref name="onCall"/> runs after every answer; gives up (cancelled) after <paramref name="limit"/>.</summary>
    public static async Task<double> RouteUntilAsync(RoutingClient client, RouteRequest request, string target, bool shouldList, long start, TimeSpan limit,
        Action? onCall = null)
    {
        using var cancel = new CancellationTokenSource(limit);
        while (true)
        {
            var decision = await client.RouteAsync(request, cancellationToken: cancel.Token);
            var at = Stopwatch.GetTimestamp();
            onCall?.Invoke();
            if (Lists(decision, target) == shouldList)
            {
                return Stopwatch.GetElapsedTime(start, at).TotalMilliseconds;
            }
        }
    }

    /// <summary>Waits until a node routes (it answers UNAVAILABLE until its routing node has the fleet's state from the
    /// grains), retrying every <paramref name="pause"/> for up to <paramref name="timeout"/>; throws if its first
    /// decision does not choose or list <paramref name="target"/> (its breaker is closed at the start).</summary>
    public static async Task WaitUntilRoutingAsync(RoutingClient client, RouteRequest request, string target, TimeSpan timeout, TimeSpan pause)
    {
        var start = Stopwatch.GetTimestamp();
        while (true)
        {
            try
            {
                var decision = await client.RouteAsync(request);
                if (!Lists(decision, target))
                {
                    throw new InvalidOperationException($"Route does not choose or list {target} with its breaker closed: {decision}");
                }

                return;
            }
            catch (RpcException error) when (error.StatusCode == StatusCode.Unavailable && Stopwatch.GetElapsedTime(start) < timeout)
            {
                await Task.Delay(pause);
            }
        }
    }

    /// <summary>Prints one Markdown table row: name, count, p50, p99, max (ms).</summary>
    public static void Row(string name, List<double> samples) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {samples.Count} | {Percentile(samples, 0.5):F2} | {Percentile(samples, 0.99):F2} | {samples.Max():F2} |"));

    /// <summary>The nearest-rank percentile <paramref name="q"/> (0..1) of the samples.</summary>
    public static double Percentile(List<double> samples, double q)
    {
        var sorted = samples.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    /// <summary>The 1, 5 and 15 minute load averages, or "n/a".</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>The positive whole number after <paramref name="name"/> on the command line, else <paramref name="fallback"/>.</summary>
    public static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;
    }
}
