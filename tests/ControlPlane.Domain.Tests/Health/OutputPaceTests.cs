using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Tests.Health;

public sealed class OutputPaceTests
{
    private static readonly DateTimeOffset T0 = Samples.T0;

    private static OutcomeSample Streamed(DateTimeOffset at, double latencyMs, double ttftMs, int tokens, OutcomeStatus status = OutcomeStatus.Success) => new()
    {
        At = at,
        Status = status,
        Latency = TimeSpan.FromMilliseconds(latencyMs),
        TimeToFirstToken = TimeSpan.FromMilliseconds(ttftMs),
        OutputTokens = tokens,
    };

    [Fact]
    public void Pace_is_the_time_after_the_first_token_per_output_token()
    {
        var pace = new OutputPace(new HealthWindowOptions());
        for (var i = 0; i < 100; i++)
        {
            // 500 ms to the first token, then 20 ms a token.
            pace.Record(Streamed(T0, 500 + (20 * 200), 500, 200));
        }

        Assert.InRange(pace.PerTokenMs(T0)!.Value, 20 * (1 - LatencyHistogram.MaxRelativeError), 20 * (1 + LatencyHistogram.MaxRelativeError));
    }

    [Fact]
    public void Without_a_first_token_time_the_whole_latency_is_spread_over_the_tokens()
    {
        var pace = new OutputPace(new HealthWindowOptions());
        pace.Record(Streamed(T0, 3000, 0, 100));
        Assert.InRange(pace.PerTokenMs(T0)!.Value, 29.5, 30.5);
    }

    [Fact]
    public void Failures_samples_without_tokens_and_samples_that_left_the_window_do_not_count()
    {
        var pace = new OutputPace(new HealthWindowOptions());
        pace.Record(Streamed(T0, 3000, 100, 0));
        pace.Record(Streamed(T0, 3000, 100, 10, OutcomeStatus.Timeout));
        Assert.Null(pace.PerTokenMs(T0));

        pace.Record(Streamed(T0, 1100, 100, 100));
        Assert.NotNull(pace.PerTokenMs(T0.AddMinutes(4)));
        Assert.Null(pace.PerTokenMs(T0.AddMinutes(5)));
    }

    [Fact]
    public void Late_samples_land_in_their_bucket_or_are_dropped_once_it_left_the_window()
    {
        var pace = new OutputPace(new HealthWindowOptions());
        pace.Record(Streamed(T0, 1100, 100, 100)); // 10 ms a token
        pace.Record(Streamed(T0.AddMinutes(6), 3100, 100, 100)); // 30 ms, six minutes later: T0's bucket left
        pace.Record(Streamed(T0, 5100, 100, 100)); // late for a bucket that left the window: dropped
        pace.Record(Streamed(T0.AddMinutes(5), 2100, 100, 100)); // late but still in the window: 20 ms

        var now = T0.AddMinutes(6);
        Assert.InRange(pace.PerTokenMs(now, 0.5)!.Value, 19.5, 20.5);
        Assert.InRange(pace.PerTokenMs(now, 1.0)!.Value, 29.5, 30.5);
        Assert.InRange(pace.PerTokenMs(now, 0.01)!.Value, 19.5, 20.5);
    }
}
