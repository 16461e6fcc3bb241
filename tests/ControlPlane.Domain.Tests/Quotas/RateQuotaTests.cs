using ControlPlane.Domain.Quotas;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Quotas;

public sealed class RateQuotaTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Reserves_tokens_and_requests_together_or_not_at_all()
    {
        var quota = new RateQuota(QuotaLimits.PerMinute(tokens: 10_000, requests: 2), _time);
        var r = TokenReservation.ForRequest(1_000, 500);

        Assert.True(quota.TryReserve(r));
        Assert.True(quota.TryReserve(r));
        Assert.False(quota.TryReserve(r)); // requests per minute exhausted, tokens left

        Assert.Equal(7_000, quota.AvailableTokens);
        Assert.Equal(0, quota.AvailableRequests);
    }

    [Fact]
    public void Reconcile_refunds_the_unused_part_of_the_estimate()
    {
        var quota = new RateQuota(QuotaLimits.PerMinute(10_000, 100), _time);
        var r = TokenReservation.ForRequest(1_000, 4_000);
        Assert.True(quota.TryReserve(r));

        quota.Reconcile(r, actualTokens: 1_800);

        Assert.Equal(8_200, quota.AvailableTokens);
        Assert.Equal(1_800, quota.TokensCharged);
        Assert.Equal(99, quota.AvailableRequests);
    }

    [Fact]
    public void Reconcile_charges_the_excess_over_the_estimate()
    {
        var quota = new RateQuota(QuotaLimits.PerMinute(10_000, 100), _time);
        var r = TokenReservation.ForRequest(1_000, 1_000);
        Assert.True(quota.TryReserve(r));

        quota.Reconcile(r, actualTokens: 2_600);

        Assert.Equal(7_400, quota.AvailableTokens);
        Assert.Equal(2_600, quota.TokensCharged);
    }

    [Fact]
    public void Release_gives_back_tokens_and_request()
    {
        var quota = new RateQuota(QuotaLimits.PerMinute(10_000, 1), _time);
        var r = TokenReservation.ForRequest(100, 100);
        Assert.True(quota.TryReserve(r));

        quota.Release(r);

        Assert.Equal(10_000, quota.AvailableTokens);
        Assert.True(quota.TryReserve(r));
        Assert.Equal(200, quota.TokensCharged);
    }

    [Fact]
    public void A_zero_limit_is_unlimited()
    {
        var quota = new RateQuota(QuotaLimits.PerMinute(0, 0), _time);

        Assert.True(quota.TryReserve(TokenReservation.ForRequest(long.MaxValue / 4, long.MaxValue / 4)));
        Assert.Equal(long.MaxValue, quota.AvailableTokens);
        Assert.Null(quota.Tokens);
    }

    [Fact]
    public void Time_until_available_is_the_later_of_tokens_and_requests()
    {
        var quota = new RateQuota(QuotaLimits.PerMinute(60_000, 60), _time);
        Assert.True(quota.TryReserve(new TokenReservation(60_000, 0, 60)));

        // 100 tokens take 100 ms; one request takes 1 s.
        Assert.Equal(TimeSpan.FromSeconds(1), quota.TimeUntilAvailable(new TokenReservation(100, 0, 1)));
    }

    [Theory]
    [InlineData(-1, 0, 60, "tokensPerPeriod")]
    [InlineData(0, -1, 60, "requestsPerPeriod")]
    [InlineData(0, 0, 0, "period")]
    [InlineData(0, 0, 86_401, "period")]
    public void Invalid_limits_name_the_field(long tokens, long requests, int periodSeconds, string field)
    {
        var limits = new QuotaLimits { TokensPerPeriod = tokens, RequestsPerPeriod = requests, Period = TimeSpan.FromSeconds(periodSeconds) };

        Assert.False(limits.TryValidate(out string actual, out _));
        Assert.Equal(field, actual);
        var e = Assert.Throws<ArgumentException>(limits.Validate);
        Assert.StartsWith(field + ":", e.Message, StringComparison.Ordinal);
    }
}
