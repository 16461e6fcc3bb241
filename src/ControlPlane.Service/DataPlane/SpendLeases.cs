using System.Globalization;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;
using ControlPlane.Service.Grains;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.DataPlane;

/// <summary>
/// A node's spend-ceiling wallets: one <see cref="LeaseWallet"/> per workload class with a ceiling, holding a slice of
/// the class's money (nano-dollars) leased from its grain, installed in the node's <see cref="NodeQuotaTable"/> under
/// the node's quota lock. A request is admitted only when the wallet can pay its estimated cost (estimated input plus
/// maximum output tokens at the chosen endpoint's price), reconciled to the actual tokens when its outcome is reported.
/// Fail closed: from start-up until the first grant, and whenever the grain grants nothing (the ceiling is reached) or
/// cannot be reached, the wallet is empty and the class is refused. Renewals run off the Route path, one per class at a
/// time, like the token leases'.
/// </summary>
internal sealed partial class SpendLeases
{
    private readonly NodeQuotaTable _quota;
    private readonly Lock _quotaLock;
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly ControlPlaneOptions _options;
    private readonly LeaseOptions _walletOptions;
    private readonly ILogger _logger;
    private readonly string _requestPrefix;
    private readonly string?[] _names;
    private readonly long[] _slices;
    private readonly LeaseWallet?[] _wallets;
    private readonly Task?[] _renewals;
    private readonly string?[] _grantAttempts;
    // Per class: the largest request cost a wallet could not pay since the last renewal (0: none).
    private readonly long[] _shortfalls;
    private long _grantCounter;

    /// <summary>Prices every endpoint in <paramref name="quota"/> and installs an empty (refusing) wallet for every class
    /// with a ceiling. Indices follow <paramref name="fleet"/>'s order, as the node's snapshot does.</summary>
    public SpendLeases(Fleet.FleetDefinition fleet, NodeQuotaTable quota, Lock quotaLock, IGrainFactory grains, TimeProvider time,
        ControlPlaneOptions options, ILogger logger, string requestPrefix)
    {
        _quota = quota;
        _quotaLock = quotaLock;
        _grains = grains;
        _time = time;
        _options = options;
        // No safety margin: a spend lease the ledger forfeits is charged in full, so spending up to its very end can
        // never overspend, and a lease cut at 00:00 UTC stays usable until the new day's lease arrives a tick later.
        _walletOptions = options.Lease with { SafetyMargin = TimeSpan.Zero };
        _logger = logger;
        _requestPrefix = requestPrefix;
        for (var e = 0; e < fleet.Descriptors.Length; e++)
        {
            var d = fleet.Descriptors[e];
            quota.SetEndpointPrice(e, SpendPrice.FromUsd(d.PricePer1kInput, d.PricePer1kOutput));
        }

        var classes = fleet.Policies.Length;
        _names = new string?[classes];
        _slices = new long[classes];
        _wallets = new LeaseWallet?[classes];
        _renewals = new Task?[classes];
        _grantAttempts = new string?[classes];
        _shortfalls = new long[classes];
        for (var c = 0; c < classes; c++)
        {
            if (fleet.Policies[c].Spend is { IsLimited: true } ceiling)
            {
                _names[c] = fleet.Policies[c].Name;
                _slices[c] = Slice(ceiling, options.Spend.SliceFraction);
                Swap(c, new LeaseWallet(_walletOptions, time));
            }
        }
    }

    /// <summary>The wallet of class <paramref name="classIndex"/> (null without a ceiling), for tests and diagnostics.</summary>
    public LeaseWallet? WalletOf(int classIndex) => Volatile.Read(ref _wallets[classIndex]);

    /// <summary>Notes that class <paramref name="classIndex"/> could not pay a request costing <paramref name="cost"/>
    /// (nano-dollars): its next renewal is due at once and asks for at least twice that, so a request dearer than the
    /// configured slice is refused once, not forever, while the ceiling has the money. Lock-free; off the happy path.</summary>
    public void NoteShortfall(int classIndex, long cost)
    {
        long seen = Volatile.Read(ref _shortfalls[classIndex]);
        while (cost > seen)
        {
            long previous = Interlocked.CompareExchange(ref _shortfalls[classIndex], cost, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }

    /// <summary>Renews every ceiling's lease that is low, near expiry or missing (all of them when <paramref name="force"/>).</summary>
    public Task RenewAsync(bool force = false)
    {
        List<Task>? renewals = null;
        for (var c = 0; c < _names.Length; c++)
        {
            if (_names[c] is not null)
            {
                (renewals ??= []).Add(RenewOnceAsync(c, force));
            }
        }

        return renewals is null ? Task.CompletedTask : Task.WhenAll(renewals);
    }

    /// <summary>Empties every wallet (so calls still in flight are refused) and returns what they held.</summary>
    public async Task ReturnAllAsync()
    {
        var pending = _renewals.Where(r => r is not null).Select(r => r!).ToArray();
        try
        {
            await Task.WhenAll(pending);
        }
        catch (OperationCanceledException)
        {
            // A renewal cancelled under the stop has nothing to return.
        }

        for (var c = 0; c < _names.Length; c++)
        {
            if (_names[c] is not null)
            {
                await ReturnAsync(c, Swap(c, new LeaseWallet(_walletOptions, _time)));
            }
        }
    }

    // A slice is a share of the smaller ceiling, at least one nano-dollar.
    private static long Slice(SpendCeiling ceiling, double fraction)
    {
        long day = ceiling.DayNanos;
        long month = ceiling.MonthNanos;
        long smaller = day <= 0 ? month : month <= 0 ? day : Math.Min(day, month);
        return Math.Max(1, (long)(smaller * fraction));
    }

    private Task RenewOnceAsync(int classIndex, bool force)
    {
        lock (_renewals)
        {
            if (_renewals[classIndex] is { IsCompleted: false } running)
            {
                return running;
            }

            var renewal = RenewClassAsync(classIndex, force);
            _renewals[classIndex] = renewal;
            return renewal;
        }
    }

    private async Task RenewClassAsync(int classIndex, bool force)
    {
        bool due;
        lock (_quotaLock)
        {
            due = force || Volatile.Read(ref _shortfalls[classIndex]) > 0 || _wallets[classIndex] is not { } wallet || wallet.NeedsRenewal();
        }

        if (!due)
        {
            return;
        }

        var name = _names[classIndex]!;
        // A grant whose answer was lost is asked again under the same id: the grain answers the lease it persisted.
        var requestId = _grantAttempts[classIndex] ??=
            _requestPrefix + "s" + Interlocked.Increment(ref _grantCounter).ToString("x", CultureInfo.InvariantCulture);
        long shortfall = Interlocked.Exchange(ref _shortfalls[classIndex], 0);
        long ask = Math.Max(_slices[classIndex], shortfall > SpendUnits.MaxCost / 2 ? SpendUnits.MaxCost : 2 * shortfall);
        QuotaLease? lease;
        try
        {
            lease = await _grains.GetGrain<IWorkloadClassGrain>(name).GrantSpendLeaseAsync(new LeaseRequest(_options.NodeId, requestId, ask, 0));
        }
        catch (Exception error) when (error is not (OperationCanceledException or OutOfMemoryException))
        {
            LogSpendLeaseFailed(_logger, name, error);
            return;
        }

        _grantAttempts[classIndex] = null;
        if (lease is null)
        {
            return;
        }

        var next = new LeaseWallet(_walletOptions, _time);
        next.Accept(lease.Value);
        await ReturnAsync(classIndex, Swap(classIndex, next));
    }

    // Installs next and settles what it replaces in one step under the quota lock, so no Route spends from a wallet
    // after its settlement was taken.
    private LeaseSettlement Swap(int classIndex, LeaseWallet next)
    {
        lock (_quotaLock)
        {
            var previous = _wallets[classIndex];
            Volatile.Write(ref _wallets[classIndex], next);
            _quota.SetSpendWallet(classIndex, next);
            return previous?.Settle() ?? default;
        }
    }

    private async Task ReturnAsync(int classIndex, LeaseSettlement settlement)
    {
        if (settlement.LeaseId == 0 && settlement.CarriedTokens == 0)
        {
            return;
        }

        var name = _names[classIndex]!;
        try
        {
            await _grains.GetGrain<IWorkloadClassGrain>(name).SettleSpendLeaseAsync(_options.NodeId, settlement);
        }
        catch (Exception error) when (error is not (OperationCanceledException or OutOfMemoryException))
        {
            // The ledger forfeits an unreturned lease at its expiry as spent: the cost is stranded money, never overspend.
            LogSpendLeaseFailed(_logger, name, error);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Spend lease renewal or return for class {WorkloadClass} failed.")]
    private static partial void LogSpendLeaseFailed(ILogger logger, string workloadClass, Exception error);
}
