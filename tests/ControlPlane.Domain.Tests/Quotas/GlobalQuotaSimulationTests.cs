using ControlPlane.Domain.Quotas;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Quotas;

/// <summary>A home region and a follower region, two nodes each, every node asking for far more than a 600 RPM limit,
/// on a fake clock in 100 ms steps: the home's nodes lease from its ledger, the follower's from region leases, exactly as
/// the grains do. Counts every admitted request and checks the global bound over every window.</summary>
public sealed class GlobalQuotaSimulationTests
{
    private const long Rpm = 600;
    private const double Share = 0.25;
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(100);
    private static readonly LeaseOptions NodeOptions = new();
    private static readonly RegionLeaseOptions RegionOptions = new();

    [Fact]
    public void Both_regions_together_stay_within_one_bucket_over_every_window()
    {
        var run = Simulate(steps: 3_000, cut: null, reserve: true);

        AssertBound(run.Admitted, allowance: 0);
        // Both regions get a real share and the limit is used, not starved.
        Assert.True(run.FollowerTotal > 300, $"follower admitted {run.FollowerTotal}");
        Assert.True(run.HomeTotal > 300, $"home admitted {run.HomeTotal}");
        Assert.True(Sum(run.Admitted, 2_400, 3_000) >= Rpm * 0.9, $"last minute admitted {Sum(run.Admitted, 2_400, 3_000)}");
    }

    [Fact]
    public void A_cut_link_costs_at_most_the_partition_allowance_and_the_follower_keeps_its_share()
    {
        // Link cut from 120 s to 300 s, then restored until 420 s.
        var run = Simulate(steps: 4_200, cut: (1_200, 3_000), reserve: true);

        AssertBound(run.Admitted, allowance: (long)(Rpm * Share));
        long cutFollower = Sum(run.Follower, 1_400, 3_000);
        // The follower keeps answering on its partition share (150 RPM, full at expiry), neither zero nor unlimited.
        Assert.InRange(cutFollower, 300, 150 + (150 * 160 / 60) + 1);
        Assert.True(Sum(run.Admitted, 3_600, 4_200) >= Rpm * 0.9, $"after the link returned {Sum(run.Admitted, 3_600, 4_200)}");
        Assert.True(Sum(run.Follower, 3_600, 4_200) > 50, "the follower is back on region leases");
    }

    [Fact]
    public void Without_the_home_reserving_the_partition_share_the_bound_breaks()
    {
        // The same run with the reserve switched off (the home assumes a silent region spends nothing) over-admits: this is
        // what the reserve is for.
        var run = Simulate(steps: 4_200, cut: (1_200, 3_000), reserve: false);

        Assert.False(WithinBound(run.Admitted, (long)(Rpm * Share), out _));
    }

    private static void AssertBound(long[] admitted, long allowance)
    {
        Assert.True(WithinBound(admitted, allowance, out string worst), worst);
    }

    // Every window [i, j) admits at most one bucket's capacity plus its refill over the window plus the allowance.
    private static bool WithinBound(long[] admitted, long allowance, out string worst)
    {
        var prefix = new long[admitted.Length + 1];
        for (int i = 0; i < admitted.Length; i++)
        {
            prefix[i + 1] = prefix[i] + admitted[i];
        }

        worst = "";
        long worstExcess = long.MinValue;
        for (int i = 0; i < admitted.Length; i++)
        {
            for (int j = i + 1; j <= admitted.Length; j++)
            {
                long bound = Rpm + (Rpm * (j - i) / 600) + allowance;
                long excess = prefix[j] - prefix[i] - bound;
                if (excess > worstExcess)
                {
                    worstExcess = excess;
                    worst = $"window {i / 10.0}s..{j / 10.0}s admitted {prefix[j] - prefix[i]}, bound {bound}";
                }
            }
        }

        return worstExcess <= 0;
    }

    private static long Sum(long[] values, int from, int to) => values[from..to].Sum();

    private static Run Simulate(int steps, (int From, int To)? cut, bool reserve)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        var ledger = new QuotaLeaseLedger(new RateQuota(QuotaLimits.PerMinute(0, Rpm), time), NodeOptions, time);
        var book = new RegionLeaseLedger(ledger, RegionOptions, _ => Share, time);
        var pool = new RegionQuotaPool(QuotaLimits.PerMinute(0, Rpm), Share, NodeOptions, time);
        var homeNodes = new[] { new SimNode("home-1"), new SimNode("home-2") };
        var followerNodes = new[] { new SimNode("eu-1"), new SimNode("eu-2") };
        var admitted = new long[steps];
        var follower = new long[steps];
        int request = 0;
        long homeTotal = 0;
        long followerTotal = 0;
        for (int step = 0; step < steps; step++)
        {
            bool linkUp = cut is not { } c || step < c.From || step >= c.To;
            if (reserve)
            {
                book.Sweep();
            }
            else
            {
                ledger.ExpireDue();
            }

            if (linkUp && pool.NeedsRenewal(RegionOptions.RenewBeforeExpiry, 0.25) && step % 5 == 0)
            {
                long held = pool.HeldLeaseId;
                pool.ProofSent();
                pool.Install(book.Grant("eu-west", $"r{request++}", 0, 200, held));
                foreach (var due in pool.DueSettlements())
                {
                    book.Settle("eu-west", due.LeaseId, due.UnusedTokens, due.UnusedRequests, due.CarriedTokens);
                    pool.Settled(due);
                }
            }

            foreach (var node in homeNodes)
            {
                long n = node.Spend(time, 5, (id, s) => ledger.Settle(s), id => ledger.TryGrant(id, 0, 60, out var l) ? l : null);
                admitted[step] += n;
                homeTotal += n;
            }

            foreach (var node in followerNodes)
            {
                long n = node.Spend(time, 5, (id, s) => pool.Settle(id, s), id => pool.TryGrant(id, 0, 60, out var l) ? l : null);
                admitted[step] += n;
                follower[step] += n;
                followerTotal += n;
            }

            time.Advance(Step);
        }

        return new Run(admitted, follower, homeTotal, followerTotal);
    }

    private sealed record Run(long[] Admitted, long[] Follower, long HomeTotal, long FollowerTotal);

    // A node's wallet as the routing node keeps it: spends its lease until the safety margin, renews below the low-water mark
    // or near expiry (settle the old one, ask a new one).
    private sealed class SimNode(string id)
    {
        private QuotaLease? _lease;
        private long _left;

        public long Spend(TimeProvider time, int demand, Action<string, LeaseSettlement> settle, Func<string, QuotaLease?> grant)
        {
            var now = time.GetUtcNow();
            if (_lease is not { } lease || _left < lease.Requests * NodeOptions.LowWaterFraction || lease.ExpiresAt - now <= NodeOptions.RenewBeforeExpiry)
            {
                if (_lease is { } old)
                {
                    settle(id, new LeaseSettlement(old.Id, 0, _left, 0));
                }

                _lease = grant(id);
                _left = _lease?.Requests ?? 0;
            }

            long admitted = 0;
            while (admitted < demand && _lease is { } current && _left > 0 && now < current.ExpiresAt - NodeOptions.SafetyMargin)
            {
                _left--;
                admitted++;
            }

            return admitted;
        }
    }
}
