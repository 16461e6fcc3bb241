using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Slo;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Slo;

/// <summary>The <c>provider-output-length</c> condition on a fake clock: five answers a second, one evaluation every
/// 10 s (the grain's period), output lengths drawn around 100 tokens.</summary>
public sealed class OutputLengthWatchTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 4, 0, 3, TimeSpan.Zero));
    private readonly HealthWindow _window = new(new HealthWindowOptions());
    private readonly OutputLengthWatch _watch = new(new OutputLengthOptions());
    private readonly Random _random = new(7);

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>Runs <paramref name="seconds"/> of traffic at <paramref name="perSecond"/> answers a second, each of
    /// 60–140 tokens × <paramref name="factor"/> (one in ten a 503 without output), evaluating every 10 s; returns the
    /// readings.</summary>
    private List<(double At, OutputLengthReading Reading)> Run(int seconds, double factor = 1, int perSecond = 5, double start = 0)
    {
        var readings = new List<(double, OutputLengthReading)>();
        for (var s = 1; s <= seconds; s++)
        {
            for (var i = 0; i < perSecond; i++)
            {
                var failed = _random.Next(10) == 0;
                _window.Record(new OutcomeSample
                {
                    At = Now,
                    Status = failed ? OutcomeStatus.ServerError : OutcomeStatus.Success,
                    OutputTokens = failed ? 0 : (int)Math.Round(_random.Next(60, 141) * factor),
                });
            }

            _time.Advance(TimeSpan.FromSeconds(1));
            if (s % 10 == 0)
            {
                readings.Add((start + s, _watch.Evaluate(Now, _window)));
            }
        }

        return readings;
    }

    [Fact]
    public void Eight_times_the_output_fires_once_the_window_holds_enough_answers_and_keeps_firing_until_it_returns()
    {
        var before = Run(120);
        Assert.DoesNotContain(before, r => r.Reading.Firing);
        Assert.InRange(_watch.Baseline!.Value, 90, 110);

        // The runaway lasts 10 minutes: it fires once it is over 3× the 2-minute mean (after about 35 s) and never
        // stops, because its buckets are never learned.
        var runaway = Run(600, factor: 8, start: 120);
        var first = runaway.First(r => r.Reading.Firing);
        Assert.InRange(first.At - 120, 30, 50);
        Assert.All(runaway.Where(r => r.At >= first.At), r => Assert.True(r.Reading.Firing, $"not firing at {r.At} s: {r.Reading}"));
        Assert.InRange(_watch.Baseline!.Value, 90, 110);
        Assert.InRange(runaway[^1].Reading.Ratio!.Value, 7, 9);

        // Output back to normal: clear once the 2-minute window has mostly forgotten it.
        var after = Run(180, start: 720);
        var cleared = after.First(r => !r.Reading.Firing);
        Assert.InRange(cleared.At - 720, 60, 130);
        Assert.All(after.Where(r => r.At >= cleared.At), r => Assert.False(r.Reading.Firing));
    }

    [Fact]
    public void Normal_variation_and_a_drift_under_the_factor_never_fire()
    {
        var readings = Run(300);
        // Twice as verbose for ten minutes (under 3×), then wide swings of single answers (60–140 × 2.5 at times).
        readings.AddRange(Run(600, factor: 2));
        for (var i = 0; i < 30; i++)
        {
            readings.AddRange(Run(10, factor: i % 3 == 0 ? 2.5 : 1));
        }

        Assert.DoesNotContain(readings, r => r.Reading.Firing);
        Assert.All(readings.Skip(2), r => Assert.NotNull(r.Reading.Baseline));
    }

    [Fact]
    public void Nothing_fires_before_the_window_holds_the_minimum_answers()
    {
        Run(120);
        // One answer every two seconds, eight times longer: 20 answers take 40 s to arrive.
        var readings = new List<(double At, OutputLengthReading Reading)>();
        for (var s = 1; s <= 120; s++)
        {
            if (s % 2 == 0)
            {
                _window.Record(new OutcomeSample { At = Now, Status = OutcomeStatus.Success, OutputTokens = 800 });
            }

            _time.Advance(TimeSpan.FromSeconds(1));
            if (s % 10 == 0)
            {
                readings.Add((s, _watch.Evaluate(Now, _window)));
            }
        }

        // The 2-minute window still holds the normal answers of before: the first reading with ≥ 20 successes is mixed.
        Assert.All(readings.Where(r => r.Reading.Successes < 20), r => Assert.False(r.Reading.Firing));
        Assert.Contains(readings, r => r.Reading.Firing);
    }

    [Fact]
    public void Without_a_baseline_nothing_fires_and_a_seed_makes_it_fire_at_once()
    {
        // 25 answers of 800 tokens in the current bucket: judged (enough answers) but there is nothing to judge against.
        for (var i = 0; i < 25; i++)
        {
            _window.Record(new OutcomeSample { At = Now, Status = OutcomeStatus.Success, OutputTokens = 800 });
        }

        var unseeded = _watch.Evaluate(Now, _window);
        Assert.Equal((800.0, 25L, (double?)null, false), (unseeded.Mean!.Value, unseeded.Successes, unseeded.Baseline, unseeded.Firing));

        var seeded = new OutputLengthWatch(new OutputLengthOptions());
        Assert.True(seeded.Seed(Now, 100));
        var reading = seeded.Evaluate(Now, _window);
        Assert.True(reading.Firing);
        Assert.Equal(8, reading.Ratio!.Value, 6);
        Assert.Equal(100, seeded.Baseline);

        // A seed does not replace a trusted baseline.
        var learned = new OutputLengthWatch(new OutputLengthOptions());
        Assert.True(learned.Seed(Now, 800));
        Assert.True(learned.Seed(Now, 100));
        Assert.Equal(800, learned.Baseline);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(10_000_001)]
    public void A_bad_seed_is_refused_and_changes_nothing(double value)
    {
        Assert.False(_watch.Seed(Now, value));
        Assert.Null(_watch.Baseline);
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Contains("Factor", Assert.Throws<ArgumentOutOfRangeException>(() => new OutputLengthWatch(new OutputLengthOptions { Factor = 1 })).Message, StringComparison.Ordinal);
        Assert.Contains("Window", Assert.Throws<ArgumentOutOfRangeException>(() => new OutputLengthOptions { Window = TimeSpan.Zero }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("MinSuccesses", Assert.Throws<ArgumentOutOfRangeException>(() => new OutputLengthOptions { MinSuccesses = 0 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("Horizon", Assert.Throws<ArgumentOutOfRangeException>(() => new OutputLengthOptions { Horizon = TimeSpan.FromSeconds(1) }.Validate()).Message, StringComparison.Ordinal);
    }
}
