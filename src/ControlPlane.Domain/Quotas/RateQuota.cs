namespace ControlPlane.Domain.Quotas;

/// <summary>
/// A pair of token buckets, tokens and requests per period, admitted together: an endpoint's provider limit
/// (TPM and RPM) or a workload class's budget. Admission reserves the estimate, the outcome reconciles to
/// the actual tokens (refund or extra charge), so <see cref="TokensCharged"/> is exact.
/// </summary>
public sealed class RateQuota
{
    /// <summary>Creates full buckets for <paramref name="limits"/>; a zero limit means unlimited.</summary>
    public RateQuota(QuotaLimits limits, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.Validate();
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
    public bool CanReserve(in TokenReservation reservation) =>
        AvailableTokens >= reservation.Tokens && AvailableRequests >= reservation.Requests;

    /// <summary>Reserves the estimate in both buckets, or neither.</summary>
    public bool TryReserve(in TokenReservation reservation)
    {
        if (!CanReserve(reservation))
        {
            return false;
        }

        Tokens?.Charge(reservation.Tokens);
        Requests?.Charge(reservation.Requests);
        return true;
    }

    /// <summary>Reserves the estimate even past the limit (a class that borrowed beyond its share goes into debt).</summary>
    public void ForceReserve(in TokenReservation reservation)
    {
        Tokens?.Charge(reservation.Tokens);
        Requests?.Charge(reservation.Requests);
    }

    /// <summary>Settles a reservation against the tokens the provider actually used: refunds the difference
    /// or charges the excess. The request stays charged.</summary>
    public void Reconcile(in TokenReservation reservation, long actualTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(actualTokens);
        long delta = actualTokens - reservation.Tokens;
        if (delta > 0)
        {
            Tokens?.Charge(delta);
        }
        else if (delta < 0)
        {
            Tokens?.Refund(-delta);
        }
    }

    /// <summary>Gives a whole reservation back (the request was never sent).</summary>
    public void Release(in TokenReservation reservation)
    {
        Tokens?.Refund(reservation.Tokens);
        Requests?.Refund(reservation.Requests);
    }

    /// <summary>When the reservation could be admitted if nothing else is taken (zero if now).</summary>
    public TimeSpan TimeUntilAvailable(in TokenReservation reservation)
    {
        var tokens = Tokens?.TimeUntilAvailable(reservation.Tokens) ?? TimeSpan.Zero;
        var requests = Requests?.TimeUntilAvailable(reservation.Requests) ?? TimeSpan.Zero;
        return tokens > requests ? tokens : requests;
    }
}
