using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using FsCheck;
using FsCheck.Fluent;

namespace ControlPlane.Domain.Tests.Health;

public sealed class HealthWindowPropertyTests
{
    private static readonly DateTimeOffset T0 = Samples.T0;

    // Latencies in whole microseconds, spread over many octaves (1 µs .. about 17 min).
    private static readonly Gen<long> Micros =
        Gen.Choose(0, 29).SelectMany(bits => Gen.Choose(0, int.MaxValue).Select(r => (1L << bits) + ((long)r % (1L << bits))));

    [Fact]
    public void Percentiles_stay_within_the_stated_relative_error_of_the_exact_percentile()
    {
        var gen = Micros.NonEmptyListOf().Select(l => l.ToArray());
        Prop.ForAll(Arb.From(gen), values =>
        {
            var w = new HealthWindow(new HealthWindowOptions());
            for (var i = 0; i < values.Length; i++)
            {
                // Spread over the window's buckets so the query really merges histograms.
                w.Record(new OutcomeSample { At = T0.AddSeconds(i % 300), Status = OutcomeStatus.Success, Latency = TimeSpan.FromTicks(values[i] * 10) });
            }

            var sorted = values.Order().ToArray();
            var now = T0.AddSeconds(299);
            foreach (var q in new[] { 0.5, 0.95, 0.99 })
            {
                var exact = sorted[Math.Max(0, (int)Math.Ceiling(q * sorted.Length) - 1)];
                var got = w.Percentile(LatencyKind.Total, q, now)!.Value.Ticks / 10.0;
                if (Math.Abs(got - exact) > (LatencyHistogram.MaxRelativeError * exact) + 0.1)
                {
                    return false;
                }
            }

            return true;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Window_totals_equal_the_sum_of_recorded_samples_still_in_the_window()
    {
        // Samples at offsets up to 15 minutes (three window lengths), some arriving out of order.
        var sample = Gen.Zip(Gen.Zip(Gen.Choose(0, 900_000), Gen.Choose(0, OutcomeStatusExtensions.Count - 1)), Gen.Choose(0, 5000), (a, b) => (a.Item1, a.Item2, b));
        var gen = Gen.Zip(sample.ListOf().Select(l => l.ToArray()), Gen.Choose(0, 1_000_000), (l, n) => (l, n));
        Prop.ForAll(Arb.From(gen), t =>
        {
            var (samples, nowMs) = t;
            var w = new HealthWindow(new HealthWindowOptions());
            var kept = new List<(long Ms, OutcomeStatus Status, int Tokens)>();
            long newest = long.MinValue;
            foreach (var (ms, status, tokens) in samples)
            {
                // Expected bookkeeping: a sample is kept unless its bucket already left the window when it arrived.
                var bucket = ms / 10_000;
                if (newest == long.MinValue || bucket > newest / 10_000 - 30)
                {
                    kept.Add((ms, (OutcomeStatus)status, tokens));
                    newest = Math.Max(newest, ms);
                }

                w.Record(new OutcomeSample { At = T0.AddMilliseconds(ms), Status = (OutcomeStatus)status, InputTokens = tokens, Latency = TimeSpan.FromMilliseconds(1 + tokens) });
            }

            var nowBucket = nowMs / 10_000;
            var inWindow = kept.Where(k => k.Ms / 10_000 <= nowBucket && k.Ms / 10_000 > nowBucket - 30).ToList();
            // Buckets overwritten by a newer lap are gone as well.
            inWindow = inWindow.Where(k => !kept.Any(o => o.Ms / 10_000 % 30 == k.Ms / 10_000 % 30 && o.Ms / 10_000 > k.Ms / 10_000)).ToList();
            var snap = w.Snapshot(T0.AddMilliseconds(nowMs));
            return snap.Requests == inWindow.Count
                && snap.InputTokens == inWindow.Sum(k => (long)k.Tokens)
                && snap.Failures == inWindow.Count(k => k.Status.IsEndpointFailure())
                && snap.LatencySamples == inWindow.Count(k => k.Status == OutcomeStatus.Success)
                && w.DroppedLate == samples.Length - kept.Count;
        }).QuickCheckThrowOnFailure();
    }
}
