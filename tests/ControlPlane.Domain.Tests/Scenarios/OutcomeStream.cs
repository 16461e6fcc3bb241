using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Scenarios;

/// <summary>Replays a synthetic outcome stream through an <see cref="EndpointHealth"/> on fake time: a number of
/// requests per second spread over the second, and an evaluation every 10 s, as an endpoint grain would run it.</summary>
internal sealed class OutcomeStream
{
    public static readonly TimeSpan EvaluationPeriod = TimeSpan.FromSeconds(10);

    private readonly Random _random;
    private DateTimeOffset _nextEvaluation;

    public OutcomeStream(EndpointHealthOptions? options = null, int seed = 42)
    {
        Time = new FakeTimeProvider();
        Health = new EndpointHealth("openai-gpt4o-us", options ?? new EndpointHealthOptions(), Time);
        _random = new Random(seed);
        _nextEvaluation = Time.GetUtcNow() + EvaluationPeriod;
    }

    public FakeTimeProvider Time { get; }

    public EndpointHealth Health { get; }

    public List<HealthEvent> Events { get; } = [];

    public DateTimeOffset Now => Time.GetUtcNow();

    public EndpointHealthView View => Health.Current();

    /// <summary>A healthy answer: latency around <paramref name="latencyMs"/> (+-25 %), quality pass with
    /// probability <paramref name="passRate"/>, cost around 1 cent.</summary>
    public OutcomeSample Healthy(DateTimeOffset at, double latencyMs = 400, double passRate = 0.9) => new()
    {
        At = at,
        Status = OutcomeStatus.Success,
        Latency = TimeSpan.FromMilliseconds(latencyMs * (0.75 + (_random.NextDouble() * 0.5))),
        TimeToFirstToken = TimeSpan.FromMilliseconds(latencyMs * 0.2),
        InputTokens = 500,
        OutputTokens = 200,
        Cost = 0.01,
        Quality = _random.NextDouble() < passRate ? QualityVerdict.Pass : QualityVerdict.Fail,
    };

    public double NextDouble() => _random.NextDouble();

    /// <summary>Runs for <paramref name="duration"/> at <paramref name="perSecond"/> requests a second, built by
    /// <paramref name="make"/>; stops early (returning true) once <paramref name="until"/> holds after a step.</summary>
    public bool Run(TimeSpan duration, double perSecond, Func<DateTimeOffset, OutcomeSample> make, Func<EndpointHealthView, bool>? until = null, string? workloadClass = null)
    {
        var end = Now + duration;
        var step = TimeSpan.FromTicks((long)(TimeSpan.TicksPerSecond / perSecond));
        while (Now < end)
        {
            Health.Record(make(Now), workloadClass);
            Advance(step);
            if (until?.Invoke(View) == true)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Moves time on, evaluating at every period boundary crossed.</summary>
    public void Advance(TimeSpan by)
    {
        var target = Now + by;
        while (_nextEvaluation <= target)
        {
            Time.Advance(_nextEvaluation - Now);
            Events.AddRange(Health.Evaluate());
            _nextEvaluation += EvaluationPeriod;
        }

        Time.Advance(target - Now);
        Events.AddRange(Health.DrainEvents());
    }

    /// <summary>Thirty-one minutes of healthy traffic so that the baselines (30 one-minute feeds) are published.</summary>
    public void WarmUp(double latencyMs = 400, double passRate = 0.9, string? workloadClass = null)
    {
        Run(TimeSpan.FromMinutes(31), 10, t => Healthy(t, latencyMs, passRate), workloadClass: workloadClass);
        var baseline = Health.Endpoint.Baseline.Current;
        Assert.NotNull(baseline.LatencyP95);
        Assert.NotNull(baseline.QualityPassRate);
        Assert.Equal(EndpointHealthView.Healthy, View);
        Events.Clear();
    }
}
