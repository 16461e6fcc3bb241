using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Slo;

/// <summary>What one <see cref="OutputLengthWatch.Evaluate"/> saw.</summary>
/// <param name="Mean">Mean output tokens per successful answer over the recent window; null under
/// <see cref="OutputLengthOptions.MinSuccesses"/> successes.</param>
/// <param name="Successes">Successful answers in the recent window.</param>
/// <param name="Baseline">The trusted baseline of the same mean; null until it is learned or seeded.</param>
/// <param name="Firing">Whether <paramref name="Mean"/> is above <see cref="OutputLengthOptions.Factor"/> × <paramref name="Baseline"/>.</param>
public readonly record struct OutputLengthReading(double? Mean, long Successes, double? Baseline, bool Firing)
{
    /// <summary><see cref="Mean"/> / <see cref="Baseline"/>; null when either is missing.</summary>
    public double? Ratio => Mean is { } m && Baseline is { } b && b > 0 ? m / b : null;
}

/// <summary>Runaway output of one endpoint (a silent verbosity change: the same prompts, many times the tokens): the
/// mean output tokens per successful answer over a short window against a rolling baseline of the same. The baseline
/// learns one complete bucket of the health window at a time, and only buckets whose own mean is within
/// <see cref="OutputLengthOptions.Factor"/> of the trusted baseline: a runaway never teaches itself to be normal, so a
/// sustained one keeps the alert firing for as long as it lasts (a drift under the factor is learned, slowly, over
/// <see cref="OutputLengthOptions.Horizon"/>). Output tokens are those the window counted for every outcome (failures
/// report none) divided by its successes. Not thread-safe: one owner (a grain turn) drives it.</summary>
public sealed class OutputLengthWatch
{
    private readonly OutputLengthOptions _options;
    private double _tokens;
    private double _successes;
    private long _learned;
    private bool _seeded;
    private DateTimeOffset? _lastLearned;
    private long _nextBucketTicks = long.MinValue;

    /// <summary>Creates an empty watch; validates <paramref name="options"/>.</summary>
    public OutputLengthWatch(OutputLengthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Validate();
    }

    /// <summary>The options in force.</summary>
    public OutputLengthOptions Options => _options;

    /// <summary>The baseline mean output tokens per successful answer, once at least
    /// <see cref="OutputLengthOptions.MinBaselineSuccesses"/> answers were learned or a seed was given; else null.</summary>
    public double? Baseline => (_seeded || _learned >= _options.MinBaselineSuccesses) && _successes > 0 ? _tokens / _successes : null;

    /// <summary>Starts an untrusted baseline from a known value (e.g. the fleet file's
    /// <c>baseline.output_tokens_per_success</c>): trusted at once, weighing as
    /// <see cref="OutputLengthOptions.MinBaselineSuccesses"/> answers, so the endpoint's own answers take over as they
    /// come. Ignored when the baseline is already trusted; false (and nothing changes) when the value is not a positive
    /// finite number of at most 10,000,000 tokens.</summary>
    public bool Seed(DateTimeOffset at, double tokensPerSuccess)
    {
        if (!double.IsFinite(tokensPerSuccess) || tokensPerSuccess <= 0 || tokensPerSuccess > 10_000_000)
        {
            return false;
        }

        if (Baseline is null)
        {
            _successes = _options.MinBaselineSuccesses;
            _tokens = tokensPerSuccess * _options.MinBaselineSuccesses;
            _seeded = true;
            _lastLearned = at;
        }

        return true;
    }

    /// <summary>Learns the buckets of <paramref name="window"/> completed since the last call, then judges the recent
    /// window at <paramref name="now"/>. Call once per evaluation period.</summary>
    public OutputLengthReading Evaluate(DateTimeOffset now, HealthWindow window)
    {
        ArgumentNullException.ThrowIfNull(window);
        Learn(now, window);

        var span = _options.Window < window.Duration ? _options.Window : window.Duration;
        var recent = window.Snapshot(now, span);
        var baseline = Baseline;
        if (recent.Successes < _options.MinSuccesses)
        {
            return new OutputLengthReading(null, recent.Successes, baseline, false);
        }

        var mean = (double)recent.OutputTokens / recent.Successes;
        return new OutputLengthReading(mean, recent.Successes, baseline, baseline is { } b && b > 0 && mean > b * _options.Factor);
    }

    private void Learn(DateTimeOffset now, HealthWindow window)
    {
        var bucket = window.BucketDuration.Ticks;
        var current = now.UtcTicks / bucket * bucket;
        // Only buckets the window still holds, oldest first, and only complete ones (before the current bucket).
        var oldest = current - window.Duration.Ticks + bucket;
        var from = Math.Max(_nextBucketTicks, oldest);
        for (var start = from; start < current; start += bucket)
        {
            var slice = window.Snapshot(new DateTimeOffset(start, TimeSpan.Zero), window.BucketDuration);
            if (slice.Successes <= 0)
            {
                continue;
            }

            var mean = (double)slice.OutputTokens / slice.Successes;
            if (Baseline is { } b && mean > b * _options.Factor)
            {
                continue;
            }

            var at = new DateTimeOffset(start, TimeSpan.Zero);
            if (_lastLearned is { } last && at > last)
            {
                var decay = Math.Exp(-(at - last).Ticks / (double)_options.Horizon.Ticks);
                _tokens *= decay;
                _successes *= decay;
            }

            _tokens += slice.OutputTokens;
            _successes += slice.Successes;
            _learned = checked(_learned + slice.Successes);
            _lastLearned = _lastLearned is { } l && l > at ? l : at;
        }

        _nextBucketTicks = Math.Max(_nextBucketTicks, current);
    }
}
