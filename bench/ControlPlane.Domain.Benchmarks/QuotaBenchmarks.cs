using BenchmarkDotNet.Attributes;
using ControlPlane.Domain.Quotas;

namespace ControlPlane.Domain.Benchmarks;

/// <summary>Quota hot paths: reserve/reconcile on a bucket pair (the grain side) and lease spending on a
/// node (no remote call).</summary>
[MemoryDiagnoser]
[MedianColumn]
public class QuotaBenchmarks
{
    private static readonly TokenReservation Reservation = TokenReservation.ForRequest(1_200, 800);
    private RateQuota _quota = null!;
    private FairShareQuota _shares = null!;
    private LeaseWallet _wallet = null!;
    private NodeQuotaTable _table = null!;

    [GlobalSetup]
    public void Setup()
    {
        var time = TimeProvider.System;
        // Limits high enough that the run never exhausts them: we measure bookkeeping, not refusals.
        var limits = new QuotaLimits { TokensPerPeriod = 1_000_000_000_000, RequestsPerPeriod = 1_000_000_000_000, Period = TimeSpan.FromDays(1) };
        _quota = new RateQuota(limits, time);
        _shares = new FairShareQuota(limits, [new ClassShare("chat", 3, WorkloadPriority.Interactive), new ClassShare("batch", 1, WorkloadPriority.Batch)], time);

        var options = new LeaseOptions { Duration = TimeSpan.FromHours(1), RenewBeforeExpiry = TimeSpan.FromMinutes(1) };
        var ledger = new QuotaLeaseLedger(new RateQuota(limits, time), options, time);
        ledger.TryGrant("node-1", 500_000_000_000, 500_000_000_000, out var lease);
        _wallet = new LeaseWallet(options, time);
        _wallet.Accept(lease);
        ledger.TryGrant("node-1", 500_000_000_000, 500_000_000_000, out var second);
        var endpointWallet = new LeaseWallet(options, time);
        endpointWallet.Accept(second);
        _table = new NodeQuotaTable(1, 1);
        _table.SetEndpointWallet(0, endpointWallet);
    }

    [Benchmark(Description = "TimeProvider.System.GetUtcNow (reference)")]
    public DateTimeOffset ClockRead() => TimeProvider.System.GetUtcNow();

    [Benchmark(Description = "RateQuota: reserve + reconcile")]
    public long ReserveReconcile()
    {
        _quota.TryReserve(Reservation);
        _quota.Reconcile(Reservation, 1_500);
        return _quota.TokensCharged;
    }

    [Benchmark(Description = "FairShareQuota: reserve + reconcile")]
    public bool FairShareReserveReconcile()
    {
        bool ok = _shares.TryReserve(0, Reservation);
        _shares.Reconcile(0, Reservation, 1_500);
        return ok;
    }

    [Benchmark(Description = "LeaseWallet: spend + reconcile")]
    public long LeaseSpend()
    {
        _wallet.TrySpend(Reservation, out long leaseId);
        _wallet.Reconcile(leaseId, Reservation, 1_500);
        return leaseId;
    }

    [Benchmark(Description = "NodeQuotaTable: admit + reconcile")]
    public bool NodeAdmit()
    {
        bool ok = _table.TryAdmit(0, 0, Reservation, out var ticket);
        _table.Reconcile(ticket, 1_500);
        return ok;
    }
}
