namespace ControlPlane.Domain.Quotas;

/// <summary>
/// A pair of token buckets, tokens and requests per period, admitted together: an endpoint's provider limit
/// (TPM and RPM) or a workload class's budget. Admission reserves the estimate, the outcome reconciles to
/// the actual tokens (refund or extra charge), so <see cref="TokensCharged"/> is exact.
/// </summary>
public sealed class RateQuota
{
    private readonly TimeProvider _time;

    /// <summary>Creates full buckets for <paramref name="limits"/>; a zero limit means unlimited.</summary>
    public RateQuota(QuotaLimits limits, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(time);
        limits.Validate();
        _time = time;
        Limits = limits;
        Tokens = limits.TokensPerPeriod > 0 ? new TokenBucket(limits.TokensPerPeriod, limits.Period, time) : null;
        Requests = limits.RequestsPerPeriod > 0 ? new TokenBucket(limits.RequestsPerPeriod, limits.Period, time) : null;
    }

    /// <summary>The limits.</summary>
    public QuotaLimits Limits { get; }

    /// <summary>The tokens bucket, or null when tokens are unlimited.</summary>
    public TokenBucket? Tokens { get; }

    /// <summary>The requests bucket, or null when requests are unlimited.</summary>
    public TokenBucket? Requests { get; }

    /// <summary>Tokens available now (<see cref="long.MaxValue"/> when unlimited).</summary>
    public long AvailableTokens => Tokens?.Available ?? long.MaxValue;

    /// <summary>Requests available now (<see cref="long.MaxValue"/> when unlimited).</summary>
    public long AvailableRequests => Requests?.Available ?? long.MaxValue;

    /// <summary>Net tokens charged: exact once every reservation is reconciled (0 when unlimited).</summary>
    public long TokensCharged => Tokens?.NetCharged ?? 0;

    /// <summary>True when both buckets could admit <paramref name="reservation"/> now.</summary>
    public bool CanReserve(in TokenReservation reservation) => CanReserveAt(reservation, Now());

    /// <summary>Reserves the estimate in both buckets, or neither.</summary>
    public bool TryReserve(in TokenReservation reservation)
    {
        long now = Now();
        if (!CanReserveAt(reservation, now))
        {
            return false;
        }

        ForceReserveAt(reservation, now);
        return true;
    }

    /// <summary>Reserves the estimate even past the limit (a class that borrowed beyond its share goes into debt).</summary>
    public void ForceReserve(in TokenReservation reservation) => ForceReserveAt(reservation, Now());

    /// <summary>Settles a reservation against the tokens the provider actually used: refunds the difference
    /// or charges the excess. The request stays charged.</summary>
    public void Reconcile(in TokenReservation reservation, long actualTokens) => ReconcileAt(reservation, actualTokens, Now());

    /// <summary>Gives a whole reservation back (the request was never sent).</summary>
    public void Release(in TokenReservation reservation) => ReleaseAt(reservation, Now());

    // The *At variants take the clock reading once per operation: the clock is the costliest part.
    internal long AvailableTokensAt(long now) => Tokens is { } t ? Math.Max(0, t.LevelAt(now)) : long.MaxValue;

    internal long AvailableRequestsAt(long now) => Requests is { } r ? Math.Max(0, r.LevelAt(now)) : long.MaxValue;

    internal bool CanReserveAt(in TokenReservation reservation, long now) =>
        AvailableTokensAt(now) >= reservation.Tokens && AvailableRequestsAt(now) >= reservation.Requests;

    internal void ForceReserveAt(in TokenReservation reservation, long now)
    {
        Tokens?.ChargeAt(reservation.Tokens, now);
        Requests?.ChargeAt(reservation.Requests, now);
    }

    internal void ReconcileAt(in TokenReservation reservation, long actualTokens, long now)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(actualTokens);
        long delta = actualTokens - reservation.Tokens;
        if (delta > 0)
        {
            Tokens?.ChargeAt(delta, now);
        }
        else if (delta < 0)
        {
            Tokens?.RefundAt(-delta, now);
        }
    }

    internal void ReleaseAt(in TokenReservation reservation, long now)
    {
        Tokens?.RefundAt(reservation.Tokens, now);
        Requests?.RefundAt(reservation.Requests, now);
    }

    internal long Now() => _time.GetUtcNow().UtcTicks;

    /// <summary>When the reservation could be admitted if nothing else is taken (zero if now).</summary>
    public TimeSpan TimeUntilAvailable(in TokenReservation reservation)
    {
        var tokens = Tokens?.TimeUntilAvailable(reservation.Tokens) ?? TimeSpan.Zero;
        var requests = Requests?.TimeUntilAvailable(reservation.Requests) ?? TimeSpan.Zero;
        return tokens > requests ? tokens : requests;
    }
}
