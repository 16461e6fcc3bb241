using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Tests.Health;

/// <summary>Builds outcome samples for tests.</summary>
internal static class Samples
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static OutcomeSample Ok(DateTimeOffset at, double latencyMs = 100, QualityVerdict quality = QualityVerdict.None, double cost = 0.01) => new()
    {
        At = at,
        Status = OutcomeStatus.Success,
        Latency = TimeSpan.FromMilliseconds(latencyMs),
        Quality = quality,
        Cost = cost,
    };

    public static OutcomeSample Fail(DateTimeOffset at, OutcomeStatus status = OutcomeStatus.ServerError) => new()
    {
        At = at,
        Status = status,
        Latency = TimeSpan.FromMilliseconds(50),
    };

    public static OutcomeSample RateLimited(DateTimeOffset at, TimeSpan? retryAfter) => new()
    {
        At = at,
        Status = OutcomeStatus.RateLimited,
        RetryAfter = retryAfter,
    };
}
