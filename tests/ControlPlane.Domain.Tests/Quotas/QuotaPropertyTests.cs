using ControlPlane.Domain.Quotas;
using Microsoft.Extensions.Time.Testing;
using FsCheck;
using FsCheck.Fluent;

namespace ControlPlane.Domain.Tests.Quotas;

/// <summary>Invariants over random sequences of grant / spend / reconcile / return / renew / advance.</summary>
public sealed class QuotaPropertyTests
{
    private const long Capacity = 10_000;
    private const int Nodes = 3;
    private static readonly TimeSpan Period = TimeSpan.FromMinutes(1);
    private static readonly LeaseOptions Options = new() { Duration = TimeSpan.FromSeconds(10) };

    private enum Kind
    {
        Grant,
        Spend,
        Reconcile,
        Return,
        Renew,
        Advance,
    }

    private sealed record Op(Kind Kind, int Node, long Amount, int Percent, int Millis);

    private static readonly Gen<Op> OpGen =
        from kind in Gen.Elements(Kind.Grant, Kind.Spend, Kind.Spend, Kind.Spend, Kind.Reconcile, Kind.Return, Kind.Renew, Kind.Advance)
        from node in Gen.Choose(0, Nodes - 1)
        from amount in Gen.Choose(1, 6_000)
        from percent in Gen.Choose(0, 150)
        from millis in Gen.Choose(0, 12_000)
        select new Op(kind, node, amount, percent, millis);

    private static readonly Arbitrary<Op[]> Ops = Arb.From(Gen.ArrayOf(OpGen));

    private static readonly Config Runs = Config.QuickThrowOnFailure.WithMaxTest(300);

    [Fact]
    public void Leases_never_let_the_cluster_spend_more_than_one_bucket_would()
    {
        Check.One(Runs, Prop.ForAll(Ops, ops => LeasesNeverOverspend(ops)));
    }

    [Fact]
    public void Reservations_reconcile_exactly_through_leases()
    {
        Check.One(Runs, Prop.ForAll(Ops, ops => LeasesReconcileExactly(ops)));
    }

    [Fact]
    public void Reservations_reconcile_exactly_on_a_rate_quota()
    {
        var gen = Gen.ArrayOf(Gen.Zip(Gen.Choose(1, 3_000), Gen.Choose(0, 6_000)).Zip(Gen.Choose(0, 20)));
        Check.One(Runs, Prop.ForAll(Arb.From(gen), steps =>
        {
            var time = new FakeTimeProvider();
            var quota = new RateQuota(QuotaLimits.PerMinute(Capacity, 100), time);
            long actualSum = 0;
            foreach (var ((estimate, actual), kind) in steps)
            {
                var r = new TokenReservation(estimate, estimate / 2, 1);
                if (!quota.TryReserve(r))
                {
                    time.Advance(TimeSpan.FromSeconds(kind));
                    continue;
                }

                if (kind == 0)
                {
                    quota.Release(r); // never sent: charges nothing
                }
                else
                {
                    quota.Reconcile(r, actual);
                    actualSum += actual;
                }
            }

            return quota.TokensCharged == actualSum && quota.Tokens!.Level <= Capacity;
        }));
    }

    private static bool LeasesNeverOverspend(Op[] ops)
    {
        var time = new FakeTimeProvider();
        var ledger = new QuotaLeaseLedger(new RateQuota(QuotaLimits.PerMinute(Capacity, 1_000_000), time), Options, time);
        var wallets = new LeaseWallet[Nodes];
        var pending = new List<(long LeaseId, TokenReservation R)>[Nodes];
        for (int i = 0; i < Nodes; i++)
        {
            wallets[i] = new LeaseWallet(Options, time);
            pending[i] = [];
        }

        // (instant, cumulative net tokens spent by all nodes) after every step.
        var history = new List<(long Ticks, long Net)> { (time.GetUtcNow().UtcTicks, 0) };
        long net = 0;
        foreach (var op in ops)
        {
            var wallet = wallets[op.Node];
            switch (op.Kind)
            {
                case Kind.Grant when wallet.Lease.Id == 0:
                    if (ledger.TryGrant($"node-{op.Node}", op.Amount, 1_000, out var granted))
                    {
                        wallet.Accept(granted);
                    }

                    break;
                case Kind.Spend:
                    var r = new TokenReservation(op.Amount / 2, op.Amount - (op.Amount / 2), 1);
                    if (wallet.TrySpend(r, out long leaseId))
                    {
                        net += r.Tokens;
                        pending[op.Node].Add((leaseId, r));
                    }

                    break;
                case Kind.Reconcile when pending[op.Node].Count > 0:
                    var (id, reserved) = pending[op.Node][0];
                    pending[op.Node].RemoveAt(0);
                    int percent = Math.Min(op.Percent, 100); // refunds only: overruns are the estimate's error, not slack
                    long actual = reserved.Tokens * percent / 100;
                    wallet.Reconcile(id, reserved, actual);
                    net += actual - reserved.Tokens;
                    break;
                case Kind.Return:
                    ledger.Settle(wallet.Settle());
                    break;
                case Kind.Renew:
                    if (ledger.TryRenew($"node-{op.Node}", wallet.Settle(), op.Amount, 1_000, out var renewed))
                    {
                        wallet.Accept(renewed);
                    }

                    break;
                case Kind.Advance:
                    time.Advance(TimeSpan.FromMilliseconds(op.Millis));
                    ledger.ExpireDue();
                    break;
            }

            long level = ledger.Quota.Tokens!.Level;
            long unspent = 0;
            foreach (var w in wallets)
            {
                unspent += w.TokensLeft;
            }

            // Granted-but-unspent plus what is left in the bucket never exceeds capacity.
            if (level < 0 || level + ledger.OutstandingTokens > Capacity || unspent > ledger.OutstandingTokens)
            {
                return false;
            }

            long now = time.GetUtcNow().UtcTicks;
            foreach (var (ticks, before) in history)
            {
                // Over any window, the cluster spends at most one bucket's burst plus its refill.
                long refill = (long)Math.Ceiling((double)Capacity * (now - ticks) / Period.Ticks);
                if (net - before > Capacity + refill)
                {
                    return false;
                }
            }

            history.Add((now, net));
        }

        return true;
    }

    private static bool LeasesReconcileExactly(Op[] ops)
    {
        var time = new FakeTimeProvider();
        var ledger = new QuotaLeaseLedger(new RateQuota(QuotaLimits.PerMinute(Capacity, 1_000_000), time), Options, time);
        var wallets = new LeaseWallet[Nodes];
        var pending = new List<(long LeaseId, TokenReservation R)>[Nodes];
        for (int i = 0; i < Nodes; i++)
        {
            wallets[i] = new LeaseWallet(Options, time);
            pending[i] = [];
        }

        long actualSum = 0;
        foreach (var op in ops)
        {
            var wallet = wallets[op.Node];
            switch (op.Kind)
            {
                case Kind.Grant when wallet.Lease.Id == 0:
                    if (ledger.TryGrant($"node-{op.Node}", op.Amount, 1_000, out var granted))
                    {
                        wallet.Accept(granted);
                    }

                    break;
                case Kind.Spend:
                    var r = new TokenReservation(op.Amount / 3, op.Amount - (op.Amount / 3), 1);
                    if (wallet.TrySpend(r, out long leaseId))
                    {
                        pending[op.Node].Add((leaseId, r));
                    }

                    break;
                case Kind.Reconcile when pending[op.Node].Count > 0:
                    var (id, reserved) = pending[op.Node][^1];
                    pending[op.Node].RemoveAt(pending[op.Node].Count - 1);
                    long actual = reserved.Tokens * op.Percent / 100; // up to 150%: refunds and overruns
                    wallet.Reconcile(id, reserved, actual);
                    actualSum += actual;
                    break;
                case Kind.Return:
                    ledger.Settle(wallet.Settle());
                    break;
                case Kind.Renew:
                    if (ledger.TryRenew($"node-{op.Node}", wallet.Settle(), op.Amount, 1_000, out var renewed))
                    {
                        wallet.Accept(renewed);
                    }

                    break;
                case Kind.Advance:
                    // Time moves too little to expire a lease: forfeits (charged, unused) are the one inexact case.
                    time.Advance(TimeSpan.FromMilliseconds(op.Millis % 50));
                    break;
            }
        }

        for (int n = 0; n < Nodes; n++)
        {
            foreach (var (id, reserved) in pending[n])
            {
                wallets[n].Reconcile(id, reserved, reserved.Tokens);
                actualSum += reserved.Tokens;
            }

            ledger.Settle(wallets[n].Settle());
        }

        return ledger.LiveCount == 0 && ledger.Quota.TokensCharged == actualSum;
    }
}
