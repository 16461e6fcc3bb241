using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Routing;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Routing;

public sealed class TimeoutCensoringTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly Router _router = new Fleet().Router(options: new RouterOptions
    {
        TimeoutHeadroom = 1.5,
        TimeoutFloor = TimeSpan.FromSeconds(2),
        TimeoutCeiling = TimeSpan.FromSeconds(120),
        DefaultTimeout = TimeSpan.FromSeconds(60),
    });

    [Fact]
    public void A_budget_cut_below_the_real_latency_grows_past_it_instead_of_spiralling_at_the_floor()
    {
        // The drill: answers at 1 s give the 2 s floor; then 4 of 5 answers take 4 s. A timeout records the budget it
        // was cut at and never feeds the percentiles, so they only saw the 1 s answers and the budget stayed at 2 s.
        var window = new HealthWindow(new HealthWindowOptions());
        var load = default(EndpointLoad);
        var seen = new List<TimeSpan>();
        for (var second = 0; second < 900; second++)
        {
            for (var i = 0; i < 5; i++)
            {
                var real = second < 120 || i == 0 ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(4);
                var budget = _router.TimeoutBudget(load, 500, null);
                window.Record(new OutcomeSample
                {
                    At = _time.GetUtcNow(),
                    Status = real < budget ? OutcomeStatus.Success : OutcomeStatus.Timeout,
                    Latency = real < budget ? real : budget,
                });
            }

            _time.Advance(TimeSpan.FromSeconds(1));
            if (second % 10 == 9)
            {
                // The endpoint grain republishes its load every evaluation period.
                load = EndpointLoad.FromWindow(window.Snapshot(_time.GetUtcNow()), perTokenMs: null);
                seen.Add(_router.TimeoutBudget(load, 500, null));
            }
        }

        Assert.Equal(TimeSpan.FromSeconds(2), seen[10]);
        Assert.True(seen[^1] > TimeSpan.FromSeconds(4), $"budget {seen[^1]}");
        Assert.True(seen[^1] < TimeSpan.FromSeconds(8), $"budget {seen[^1]}");
        Assert.Equal(0, load.TimedOutAtMs);
    }

    [Fact]
    public void Rare_timeouts_do_not_raise_the_budget()
    {
        var window = new HealthWindow(new HealthWindowOptions());
        var now = _time.GetUtcNow();
        for (var i = 0; i < 100; i++)
        {
            window.Record(new OutcomeSample { At = now, Status = OutcomeStatus.Success, Latency = TimeSpan.FromSeconds(1) });
        }

        for (var i = 0; i < 5; i++)
        {
            window.Record(new OutcomeSample { At = now, Status = OutcomeStatus.Timeout, Latency = TimeSpan.FromSeconds(2) });
        }

        var load = EndpointLoad.FromWindow(window.Snapshot(now), perTokenMs: null);

        Assert.Equal(0, load.TimedOutAtMs);
        Assert.Equal(TimeSpan.FromSeconds(2), _router.TimeoutBudget(load, 500, null));
        window.Record(new OutcomeSample { At = now, Status = OutcomeStatus.Timeout, Latency = TimeSpan.FromSeconds(2) });
        Assert.Equal(TimeSpan.FromSeconds(4), _router.TimeoutBudget(EndpointLoad.FromWindow(window.Snapshot(now), perTokenMs: null), 500, null));
    }
}
