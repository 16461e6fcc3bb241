using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Tests.Health;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Baselines;

public sealed class BaselineSeedTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(T0);

    private DateTimeOffset Now => _time.GetUtcNow();

    private static HealthSnapshot Snap(double p95Ms, long samples = 100) => new()
    {
        LatencySamples = samples,
        LatencyP95 = TimeSpan.FromMilliseconds(p95Ms),
        QualityPasses = samples,
        QualityFailures = 0,
    };

    [Fact]
    public void A_seed_is_trusted_at_once_and_the_endpoints_own_feeds_take_over()
    {
        var b = new RollingBaseline(new BaselineOptions());
        b.Seed(T0, new BaselineValues { LatencyP95 = TimeSpan.FromMilliseconds(800), QualityPassRate = 0.97 });

        Assert.Equal(TimeSpan.FromMilliseconds(800), b.Current.LatencyP95);
        Assert.Equal(0.97, b.Current.QualityPassRate);
        Assert.Null(b.Current.TtftP95);

        // The seed weighs as one observation.
        b.Observe(T0.AddMinutes(1), Snap(400));
        Assert.InRange(b.Current.LatencyP95!.Value.TotalMilliseconds, 599, 601);
        for (var i = 2; i < 60; i++)
        {
            b.Observe(T0.AddMinutes(i), Snap(400));
        }

        Assert.InRange(b.Current.LatencyP95!.Value.TotalMilliseconds, 400, 410);
    }

    [Fact]
    public void A_seed_never_replaces_a_trusted_baseline()
    {
        var b = new RollingBaseline(new BaselineOptions { MinObservations = 2 });
        b.Observe(T0, Snap(300));
        b.Observe(T0.AddMinutes(1), Snap(300));

        b.Seed(T0.AddMinutes(2), new BaselineValues { LatencyP95 = TimeSpan.FromMilliseconds(5000) });

        Assert.Equal(TimeSpan.FromMilliseconds(300), b.Current.LatencyP95);
        Assert.Equal(2, b.State.LatencyP95Micros.Observations);
    }

    [Fact]
    public void A_low_traffic_endpoint_gets_a_baseline_from_its_first_samples()
    {
        // 5 requests a minute: no one-minute feed ever holds the 20 samples an observation needs.
        var health = new EndpointHealth("quiet", new EndpointHealthOptions(), _time);
        for (var s = 0; s < 10 * 60; s++)
        {
            if (s % 12 == 0)
            {
                health.Record(Samples.Ok(Now, 700, QualityVerdict.Pass), "chat");
            }

            _time.Advance(TimeSpan.FromSeconds(1));
            if (s % 10 == 0)
            {
                health.Evaluate();
            }
        }

        var baseline = health.Endpoint.Baseline.Current;
        Assert.NotNull(baseline.LatencyP95);
        Assert.InRange(baseline.LatencyP95!.Value.TotalMilliseconds, 690, 712);
        Assert.Equal(1.0, baseline.QualityPassRate);
        Assert.Equal(baseline.LatencyP95, health.Class("chat")!.Baseline.Current.LatencyP95);
    }

    [Fact]
    public void Fleet_seeds_reach_the_endpoint_and_classes_created_later()
    {
        var health = new EndpointHealth("quiet", new EndpointHealthOptions(), _time);
        health.SeedBaselines(new BaselineValues { LatencyP95 = TimeSpan.FromMilliseconds(900), QualityPassRate = 0.95 });
        health.Record(Samples.Ok(Now), "chat");

        Assert.Equal(TimeSpan.FromMilliseconds(900), health.Endpoint.Baseline.Current.LatencyP95);
        Assert.Equal(0.95, health.Class("chat")!.Baseline.Current.QualityPassRate);
    }
}
