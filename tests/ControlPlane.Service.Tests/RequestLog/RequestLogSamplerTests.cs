using ControlPlane.Domain.Endpoints;
using ControlPlane.Service.DataPlane;
using ControlPlane.Service.RequestLog;

namespace ControlPlane.Service.Tests.RequestLog;

/// <summary>Sampling keeps a share of ordinary requests decided by the request alone, and every error, fallback and
/// quality failure.</summary>
public sealed class RequestLogSamplerTests
{
    [Fact]
    public void The_share_kept_follows_the_rate_and_one_request_is_always_decided_the_same_way()
    {
        var kept = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var key = DecisionIds.RequestKey("req-" + i);
            var first = RequestLogSampler.Keep(0.25, key, OutcomeStatus.Success, fallback: false, QualityVerdict.None);
            // Every attempt of the request (any node: the key is the request id's hash) decides alike.
            for (var attempt = 0; attempt < 3; attempt++)
            {
                Assert.Equal(first, RequestLogSampler.Keep(0.25, key, OutcomeStatus.Success, fallback: false, QualityVerdict.Pass));
            }

            kept += first ? 1 : 0;
        }

        Assert.InRange(kept, 4_500, 5_500);
    }

    [Theory]
    [InlineData(OutcomeStatus.ServerError, false, QualityVerdict.None)]
    [InlineData(OutcomeStatus.RateLimited, false, QualityVerdict.None)]
    [InlineData(OutcomeStatus.ClientError, false, QualityVerdict.None)]
    [InlineData(OutcomeStatus.Success, true, QualityVerdict.None)]
    [InlineData(OutcomeStatus.Success, false, QualityVerdict.Fail)]
    public void Errors_fallbacks_and_quality_failures_are_kept_even_at_rate_zero(OutcomeStatus status, bool fallback, QualityVerdict quality)
    {
        for (var i = 0; i < 100; i++)
        {
            Assert.True(RequestLogSampler.Keep(0, DecisionIds.RequestKey("req-" + i), status, fallback, quality));
        }

        Assert.False(RequestLogSampler.Keep(0, DecisionIds.RequestKey("req-0"), OutcomeStatus.Success, false, QualityVerdict.Pass));
    }
}
