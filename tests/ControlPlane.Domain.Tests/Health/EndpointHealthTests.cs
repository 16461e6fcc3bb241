using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Health;

public sealed class EndpointHealthTests
{
    private readonly FakeTimeProvider _time = new();

    private DateTimeOffset Now => _time.GetUtcNow();

    [Fact]
    public void Outcomes_feed_the_endpoint_and_their_class_and_classes_beyond_the_cap_only_the_endpoint()
    {
        var health = new EndpointHealth("e1", new EndpointHealthOptions { MaxWorkloadClasses = 1 }, _time);
        health.Record(Samples.Ok(Now), "chat");
        health.Record(Samples.Ok(Now), "batch");
        health.Record(Samples.Ok(Now));

        Assert.Equal(3, health.Endpoint.Window.Snapshot(Now).Requests);
        Assert.Equal(1, health.Class("chat")!.Window.Snapshot(Now).Requests);
        Assert.Null(health.Class("batch"));
        Assert.Equal(["chat"], health.WorkloadClasses);
        Assert.Equal(EndpointHealthView.Healthy, health.Current("batch"));
        Assert.Throws<InvalidOperationException>(() => health.SetOverride(new AdminOverride(OverrideKind.Drain, "a", "r", Now, null), "batch"));
    }

    [Fact]
    public void A_class_view_is_the_more_restrictive_of_endpoint_and_class()
    {
        var health = new EndpointHealth("e1", new EndpointHealthOptions(), _time);
        for (var i = 0; i < 5; i++)
        {
            health.Record(Samples.Fail(Now), "chat");
        }

        health.Record(Samples.RateLimited(Now, TimeSpan.FromSeconds(9)));
        var chat = health.Current("chat");
        Assert.Equal((BreakerState.Open, BreakerReason.ConsecutiveFailures, 0.0, Now.AddSeconds(9)), (chat.State, chat.Reason, chat.TrafficFraction, chat.RateLimitedUntil));

        var events = health.Evaluate();
        Assert.Equal(3, events.Count); // the endpoint-wide trip and cooling, then the class trip
        Assert.Equal([null, null, "chat"], events.Select(e => e.WorkloadClass));
        Assert.All(events, e => Assert.Equal("e1", e.EndpointId));
    }

    [Fact]
    public void Baselines_are_fed_once_per_feed_period_while_healthy()
    {
        var options = new EndpointHealthOptions();
        options.Baseline.MinObservations = 2;
        var health = new EndpointHealth("e1", options, _time);
        for (var s = 0; s < 121; s++)
        {
            for (var i = 0; i < 10; i++)
            {
                health.Record(Samples.Ok(Now, 200));
            }

            _time.Advance(TimeSpan.FromSeconds(1));
            health.Evaluate();
        }

        var (latency, _, _, _) = health.Endpoint.Baseline.State;
        Assert.Equal(2, latency.Observations); // at 61 s and 121 s: the first evaluation (1 s) starts the period
        Assert.Equal(Now, latency.LastAt);
        Assert.InRange(health.Endpoint.Baseline.Current.LatencyP95!.Value.TotalMilliseconds, 190, 210);
    }

    [Theory]
    [InlineData(1, 32, "EndpointHealthOptions.BaselineFeedPeriod")]
    [InlineData(60, -1, "EndpointHealthOptions.MaxWorkloadClasses")]
    public void Invalid_options_name_the_option(int feedSeconds, int maxClasses, string option)
    {
        var o = new EndpointHealthOptions { BaselineFeedPeriod = TimeSpan.FromSeconds(feedSeconds), MaxWorkloadClasses = maxClasses };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new EndpointHealth("e1", o, _time));
        Assert.Contains(option, e.Message, StringComparison.Ordinal);
    }
}
