using ControlPlane.Domain.Quotas;

namespace ControlPlane.Service.DataPlane;

/// <summary>What a node asks of a quota owner for one wallet slot.</summary>
/// <param name="Tokens">Tokens asked for (the slice).</param>
/// <param name="Requests">Requests asked for.</param>
/// <param name="DemandTokensPerMinute">The slot's recent spend rate in tokens per minute (what the grain weighs it by).</param>
/// <param name="DemandRequestsPerMinute">The slot's recent spend rate in requests per minute.</param>
/// <param name="Oversized">True when the wallet holds much more than the demand needs: it is renewed (shrunk) now and
/// the surplus goes back to the bucket for the nodes that need it.</param>
internal readonly record struct LeaseAsk(long Tokens, long Requests, long DemandTokensPerMinute, long DemandRequestsPerMinute, bool Oversized);

/// <summary>
/// The node side of demand-sized leases, for one wallet slot (an endpoint's TPM/RPM or a class budget). The slot's spend
/// rate is measured on the lease it holds (spent units over the lease's age); a lease younger than half the horizon can
/// only raise the estimate (a slice drained in a burst says demand grew), an older one replaces it (a node that stopped
/// spending is seen as idle). The ask is the estimate times <see cref="ControlPlaneOptions.LeaseDemandHorizon"/>, clamped
/// between the minimum slice (<see cref="ControlPlaneOptions.LeaseMinSliceFraction"/> of the limit) and the maximum
/// (<see cref="ControlPlaneOptions.LeaseSliceFraction"/>); a slot with no measurement yet asks for the maximum.
/// A wallet holding more than twice its ask (and at least a minimum slice more) once the lease is half a horizon old is
/// <see cref="LeaseAsk.Oversized"/>: the node renews it with the smaller ask, which hands the surplus back.
/// Not thread-safe: the node calls it under its quota lock.
/// </summary>
internal sealed class LeaseDemand
{
    private double _tokensPerSecond = -1;
    private double _requestsPerSecond = -1;

    /// <summary>Measures the wallet's lease (if any) and says what to ask for.</summary>
    /// <param name="wallet">The slot's wallet (null or empty: no measurement).</param>
    /// <param name="tokensLimit">The owner's tokens per period; 0 = unlimited.</param>
    /// <param name="requestsLimit">The owner's requests per period; 0 = unlimited.</param>
    /// <param name="options">The node's options.</param>
    /// <param name="now">Now.</param>
    /// <param name="unlimitedSlice">What an unlimited dimension asks for.</param>
    public LeaseAsk Plan(LeaseWallet? wallet, long tokensLimit, long requestsLimit, ControlPlaneOptions options, DateTimeOffset now, long unlimitedSlice)
    {
        var horizon = options.LeaseDemandHorizon;
        var lease = wallet?.Lease ?? default;
        bool measured = lease.Id != 0;
        double age = measured ? Math.Max((now - lease.GrantedAt).TotalSeconds, horizon.TotalSeconds / 4) : 0;
        if (measured)
        {
            bool mature = now - lease.GrantedAt >= horizon / 2;
            _tokensPerSecond = Estimate(_tokensPerSecond, wallet!.SpentTokens / age, mature);
            _requestsPerSecond = Estimate(_requestsPerSecond, wallet.SpentRequests / age, mature);
        }

        var (tokens, tokenDemand) = Size(_tokensPerSecond, tokensLimit, options, horizon, unlimitedSlice);
        var (requests, requestDemand) = Size(_requestsPerSecond, requestsLimit, options, horizon, unlimitedSlice);
        bool oversized = measured && now - lease.GrantedAt >= horizon / 2 && wallet!.IsActive(now)
            && (Surplus(wallet.TokensLeft, tokens, tokensLimit, options) || Surplus(wallet.RequestsLeft, requests, requestsLimit, options));
        return new LeaseAsk(tokens, requests, tokenDemand, requestDemand, oversized);
    }

    private static double Estimate(double previous, double rate, bool mature) => mature || previous < 0 ? rate : Math.Max(previous, rate);

    private static (long Ask, long PerMinute) Size(double perSecond, long limit, ControlPlaneOptions options, TimeSpan horizon, long unlimitedSlice)
    {
        if (limit <= 0)
        {
            return (unlimitedSlice, 0);
        }

        long max = MaxSlice(limit, options);
        long perMinute = perSecond < 0 ? 0 : (long)Math.Min(perSecond * 60, limit);
        if (perSecond < 0)
        {
            // Nothing measured yet (the node just started): the largest slice, as before demand sizing.
            return (max, perMinute);
        }

        double need = Math.Ceiling(perSecond * horizon.TotalSeconds);
        return ((long)Math.Clamp(need, MinSlice(limit, options), max), perMinute);
    }

    private static bool Surplus(long left, long ask, long limit, ControlPlaneOptions options) =>
        limit > 0 && left > 2 * ask && left - ask >= MinSlice(limit, options);

    /// <summary>The largest slice: <see cref="ControlPlaneOptions.LeaseSliceFraction"/> of the limit, at least 1.</summary>
    public static long MaxSlice(long limit, ControlPlaneOptions options) => Math.Max(1, (long)(limit * options.LeaseSliceFraction));

    /// <summary>The smallest slice an idle node keeps, so its first request is not refused: at least 1.</summary>
    public static long MinSlice(long limit, ControlPlaneOptions options) =>
        Math.Min(MaxSlice(limit, options), Math.Max(1, (long)(limit * options.LeaseMinSliceFraction)));
}
