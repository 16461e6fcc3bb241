using ControlPlane.Server.Security;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Tests.Security;

/// <summary>The failed-authentication buckets on their own (one per remote address).</summary>
public sealed class FailedAuthenticationLimiterTests
{
    [Fact]
    public async Task An_address_is_refused_once_its_failures_reach_the_limit_until_a_whole_failure_is_forgiven()
    {
        using var limiter = new FailedAuthenticationLimiter(Options.Create(new AdminRateLimitOptions
        {
            FailedAuthenticationLimit = 2, FailedAuthenticationTokensPerPeriod = 1, FailedAuthenticationPeriod = TimeSpan.FromHours(1),
        }));

        Assert.True(limiter.MayTry("10.0.0.1"));
        limiter.RecordFailure("10.0.0.1");
        Assert.True(limiter.MayTry("10.0.0.1"));
        limiter.RecordFailure("10.0.0.1");
        // The bucket refills continuously (the partitioned limiter tops it up every 100 ms): a fraction of a forgiven
        // failure must not let the address through.
        await Task.Delay(TimeSpan.FromMilliseconds(400));

        Assert.False(limiter.MayTry("10.0.0.1"));
        Assert.True(limiter.MayTry("10.0.0.2"));
        Assert.Equal(TimeSpan.FromHours(1), limiter.RetryAfter);
    }
}
