using ControlPlane.Domain.Quotas;
using ControlPlane.Service.Grains;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Federation.Quotas;

/// <summary>
/// The follower side of global quotas on an endpoint grain in a region that is not the endpoint's home: node leases
/// carved from region leases (<see cref="RegionQuotaPool"/>), region leases renewed from the home over
/// <see cref="IRegionLeaseClient"/>, superseded ones settled, and the partition share used once the newest lease
/// expired unrenewed. The pool is soft state: a new activation starts empty and asks the home again; the old
/// activation's region lease stays held at home until it expires (its uncarved units idle, never spent twice).
/// Use it from grain turns only.
/// </summary>
internal sealed class RegionQuotaFollower
{
    private readonly RegionQuotaPool _pool;
    private readonly QuotaLimits _limits;
    private readonly string _endpointId;
    private readonly string _homeRegion;
    private readonly string _region;
    private readonly RegionQuotaOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, GrantRecord> _lastGrants = new(StringComparer.Ordinal);
    private long _askedTokens;
    private long _askedRequests;
    private DateTimeOffset _lastRenewal;
    private long _attempt;
    private bool _renewing;

    public RegionQuotaFollower(string endpointId, string homeRegion, string region, QuotaLimits limits, double partitionShare,
        LeaseOptions nodeOptions, RegionQuotaOptions options, TimeProvider time, ILogger logger)
    {
        _endpointId = endpointId;
        _homeRegion = homeRegion;
        _region = region;
        _limits = limits;
        _options = options;
        _time = time;
        _logger = logger;
        _pool = new RegionQuotaPool(limits, partitionShare, nodeOptions, time);
        _lastRenewal = time.GetUtcNow();
    }

    /// <summary>The pool (its newest lease, partition mode).</summary>
    public RegionQuotaPool Pool => _pool;

    /// <summary>The endpoint's home region.</summary>
    public string HomeRegion => _homeRegion;

    /// <summary>Grants a node lease from the region's leases; when the pool cannot, renews from the home first (once).
    /// The same request id from the same node gets the same lease.</summary>
    public async Task<QuotaLease?> GrantAsync(LeaseRequest request, IRegionLeaseClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.NodeId);
        if (_lastGrants.TryGetValue(request.NodeId, out var last) && string.Equals(last.RequestId, request.RequestId, StringComparison.Ordinal))
        {
            return last.Lease;
        }

        _askedTokens = SaturatingAdd(_askedTokens, request.Tokens);
        _askedRequests = SaturatingAdd(_askedRequests, request.Requests);
        if (!_pool.TryGrant(request.NodeId, request.Tokens, request.Requests, out var lease))
        {
            await RenewAsync(client, force: true);
            if (!_pool.TryGrant(request.NodeId, request.Tokens, request.Requests, out lease))
            {
                return null;
            }
        }

        _lastGrants[request.NodeId] = new GrantRecord(request.RequestId, lease);
        return lease;
    }

    /// <summary>Takes a node lease back (unused units return to its region lease while that lives).</summary>
    public void Settle(string nodeId, LeaseSettlement settlement) => _pool.Settle(nodeId, settlement);

    /// <summary>The grain's check: renews when due (or partitioned), settles superseded region leases.</summary>
    public Task CheckAsync(IRegionLeaseClient client) => RenewAsync(client, force: false);

    private async Task RenewAsync(IRegionLeaseClient client, bool force)
    {
        _pool.ExpireDue();
        if (_renewing || (!force && !_pool.NeedsRenewal(_options.Lease.RenewBeforeExpiry, _options.LowWaterFraction) && _pool.DueSettlements().Count == 0))
        {
            return;
        }

        _renewing = true;
        try
        {
            using var cts = new CancellationTokenSource(_options.CallTimeout);
            if (force || _pool.NeedsRenewal(_options.Lease.RenewBeforeExpiry, _options.LowWaterFraction))
            {
                var (tokens, requests) = Ask();
                var ask = new RegionLeaseAsk(_endpointId, _region, $"{_region}/{Guid.NewGuid():N}/{++_attempt}", tokens, requests, _pool.HeldLeaseId);
                _pool.ProofSent();
                var lease = await client.GrantAsync(_homeRegion, ask, cts.Token);
                if (lease is { } granted)
                {
                    _pool.Install(granted);
                    _lastRenewal = _time.GetUtcNow();
                    _askedTokens = 0;
                    _askedRequests = 0;
                }
            }

            foreach (var due in _pool.DueSettlements())
            {
                await client.SettleAsync(_homeRegion, _endpointId, _region, due, cts.Token);
                _pool.Settled(due);
            }
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            // The home is unreachable (or refused): the current lease, then the partition share, carry on.
            _logger.LogDebug(error, "Endpoint {Endpoint}: region lease from {Home} not renewed.", _endpointId, _homeRegion);
        }
        finally
        {
            _renewing = false;
        }
    }

    // What the region asks for: its nodes' asks since the last renewal, scaled to a lease's life, at least the minimum
    // share of the limit and at most the limit.
    private (long Tokens, long Requests) Ask()
    {
        var since = _time.GetUtcNow() - _lastRenewal;
        double scale = since <= TimeSpan.FromSeconds(1) ? 1 : _options.Lease.Duration / since;
        return (Size(_limits.TokensPerPeriod, _askedTokens, scale), Size(_limits.RequestsPerPeriod, _askedRequests, scale));
    }

    private long Size(long limit, long asked, double scale)
    {
        if (limit <= 0)
        {
            return 0;
        }

        long floor = Math.Max(1, (long)(limit * _options.MinAskFraction));
        double wanted = asked * scale;
        return wanted >= limit ? limit : Math.Max(floor, (long)wanted);
    }

    private static long SaturatingAdd(long a, long b) => b > long.MaxValue - a ? long.MaxValue : a + b;
}
