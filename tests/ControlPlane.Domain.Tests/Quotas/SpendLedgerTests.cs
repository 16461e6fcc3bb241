using ControlPlane.Domain.Quotas;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Quotas;

/// <summary>The spend ceiling's ledger: money per UTC day and month, leased to nodes in slices of nano-dollars.</summary>
public sealed class SpendLedgerTests
{
    private const long Usd = SpendUnits.NanosPerUsd;

    private static readonly LeaseOptions Options = new()
    {
        Duration = TimeSpan.FromSeconds(10),
        SafetyMargin = TimeSpan.FromMilliseconds(500),
        LowWaterFraction = 0.25,
        RenewBeforeExpiry = TimeSpan.FromSeconds(2),
    };

    // 2026-03-10 12:00 UTC; tests that cross a midnight move forward from there.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero));

    private SpendLedger Ledger(decimal perDay, decimal perMonth) =>
        new(new SpendCeiling { UsdPerDay = perDay, UsdPerMonth = perMonth }, Options, _time);

    [Fact]
    public void Grants_are_carved_from_the_smaller_of_what_is_left_in_the_day_and_the_month()
    {
        var ledger = Ledger(perDay: 10, perMonth: 25);

        Assert.True(ledger.TryGrant("a", 4 * Usd, out var first));
        Assert.Equal((1L, 4 * Usd, 0L), (first.Id, first.Tokens, first.Requests));
        Assert.True(ledger.TryGrant("b", 100 * Usd, out var rest));
        Assert.Equal(6 * Usd, rest.Tokens);
        Assert.False(ledger.TryGrant("c", 1, out _));

        var figures = ledger.Figures();
        Assert.Equal((0L, 10 * Usd, 10 * Usd), (figures.DaySpent, figures.Held, figures.DayCeiling));
        Assert.Equal(1.0, figures.DayFraction);
        Assert.Equal(0.4, figures.MonthFraction, 10);
    }

    [Fact]
    public void A_grant_cut_short_by_a_window_marks_it_exhausted_until_a_grant_fits_again_or_the_day_rolls()
    {
        var ledger = Ledger(perDay: 10, perMonth: 100);
        Assert.True(ledger.TryGrant("a", 8 * Usd, out var big));
        Assert.False(ledger.Figures().DayExhausted);

        Assert.True(ledger.TryGrant("b", 3 * Usd, out var cut));
        Assert.Equal(2 * Usd, cut.Tokens);
        Assert.Equal((true, false), (ledger.Figures().DayExhausted, ledger.Figures().MonthExhausted));
        Assert.False(ledger.TryGrant("b", 1, out _));
        Assert.True(ledger.Figures().DayExhausted);

        Assert.True(ledger.Settle(new LeaseSettlement(big.Id, 5 * Usd, 0, 0)));
        Assert.True(ledger.Figures().DayExhausted); // a return alone does not clear it...
        Assert.True(ledger.TryGrant("a", 1 * Usd, out _));
        Assert.False(ledger.Figures().DayExhausted); // ...a grant that fits in full does
        Assert.True(ledger.TryGrant("a", 50 * Usd, out _));
        Assert.True(ledger.Export().DayExhausted);

        _time.Advance(TimeSpan.FromDays(1));
        Assert.False(ledger.Figures().DayExhausted);
    }

    [Fact]
    public void A_settlement_returns_the_unused_money_and_charges_the_spent_part()
    {
        var ledger = Ledger(perDay: 10, perMonth: 0);
        Assert.True(ledger.TryGrant("a", 4 * Usd, out var lease));

        Assert.True(ledger.Settle(new LeaseSettlement(lease.Id, UnusedTokens: 1 * Usd, UnusedRequests: 0, CarriedTokens: 0)));

        var figures = ledger.Figures();
        Assert.Equal((3 * Usd, 0L), (figures.DaySpent, figures.Held));
        Assert.Equal(7 * Usd, ledger.Available());
        // A repeat of a closed lease changes nothing; a node cannot return more than it was granted.
        Assert.False(ledger.Settle(new LeaseSettlement(lease.Id, 4 * Usd, 0, 0)));
        Assert.Equal(3 * Usd, ledger.Figures().DaySpent);
        Assert.True(ledger.TryGrant("a", 2 * Usd, out var second));
        Assert.True(ledger.Settle(new LeaseSettlement(second.Id, UnusedTokens: 50 * Usd, 0, 0)));
        Assert.Equal(3 * Usd, ledger.Figures().DaySpent);
    }

    [Fact]
    public void A_lease_not_returned_by_its_expiry_is_forfeited_as_spent()
    {
        var ledger = Ledger(perDay: 10, perMonth: 0);
        Assert.True(ledger.TryGrant("a", 4 * Usd, out var lease));

        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(1, ledger.ExpireDue());
        Assert.Equal((4 * Usd, 0L), (ledger.Figures().DaySpent, ledger.Figures().Held));
        // The late settlement's unused money does not come back (the ledger already forfeited the lease)...
        Assert.False(ledger.Settle(new LeaseSettlement(lease.Id, 4 * Usd, 0, CarriedTokens: 0)));
        Assert.Equal(4 * Usd, ledger.Figures().DaySpent);
        // ...but a carried reconciliation is still exact: charged, or credited never below zero.
        ledger.Settle(new LeaseSettlement(0, 0, 0, CarriedTokens: Usd / 2));
        Assert.Equal(4 * Usd + (Usd / 2), ledger.Figures().DaySpent);
        ledger.Settle(new LeaseSettlement(0, 0, 0, CarriedTokens: -100 * Usd));
        Assert.Equal(0, ledger.Figures().DaySpent);
    }

    [Fact]
    public void A_lease_ends_at_utc_midnight_and_the_day_rolls_over_with_fresh_money_but_the_month_does_not()
    {
        _time.SetUtcNow(new DateTimeOffset(2026, 3, 30, 23, 59, 55, TimeSpan.Zero));
        var ledger = Ledger(perDay: 10, perMonth: 15);
        Assert.True(ledger.TryGrant("a", 10 * Usd, out var lease));
        Assert.Equal(new DateTimeOffset(2026, 3, 31, 0, 0, 0, TimeSpan.Zero), lease.ExpiresAt);
        Assert.True(ledger.Settle(new LeaseSettlement(lease.Id, 2 * Usd, 0, 0)));
        Assert.Equal(2 * Usd, ledger.Available());

        _time.SetUtcNow(new DateTimeOffset(2026, 3, 31, 0, 0, 0, TimeSpan.Zero));

        var figures = ledger.Figures();
        Assert.Equal((new DateTimeOffset(2026, 3, 31, 0, 0, 0, TimeSpan.Zero), 0L, 8 * Usd), (figures.Day, figures.DaySpent, figures.MonthSpent));
        // The day has 10 again, the month only 7 of its 15.
        Assert.True(ledger.TryGrant("a", 100 * Usd, out var next));
        Assert.Equal(7 * Usd, next.Tokens);
    }

    [Fact]
    public void At_the_first_midnight_of_a_month_both_windows_start_empty_and_a_lease_across_it_is_charged_to_the_old_ones()
    {
        _time.SetUtcNow(new DateTimeOffset(2026, 3, 31, 23, 59, 58, TimeSpan.Zero));
        var ledger = Ledger(perDay: 10, perMonth: 15);
        Assert.True(ledger.TryGrant("a", 3 * Usd, out _));
        Assert.True(ledger.TryGrant("b", 2 * Usd, out var returned));
        Assert.True(ledger.Settle(new LeaseSettlement(returned.Id, 2 * Usd, 0, 0)));

        _time.SetUtcNow(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero));

        // "a" never settled: forfeited in March, and April starts with the whole ceiling.
        var figures = ledger.Figures();
        Assert.Equal((new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero), 0L, 0L, 0L), (figures.Month, figures.DaySpent, figures.MonthSpent, figures.Held));
        Assert.Equal(10 * Usd, ledger.Available());
    }

    [Fact]
    public void A_lease_cut_by_midnight_and_settled_just_after_gives_its_unused_money_back_to_the_month_not_the_day()
    {
        _time.SetUtcNow(new DateTimeOffset(2026, 3, 30, 23, 59, 58, TimeSpan.Zero));
        var ledger = Ledger(perDay: 10, perMonth: 100);
        Assert.True(ledger.TryGrant("a", 4 * Usd, out var cut));
        _time.SetUtcNow(new DateTimeOffset(2026, 3, 31, 0, 0, 0, 50, TimeSpan.Zero));
        Assert.Equal(4 * Usd, ledger.Figures().MonthSpent); // forfeited in full at midnight...

        // ...then the node settles it (it spent 1): the month gets 3 back; the new day is untouched. A repeat changes nothing.
        var moved = Ledger(perDay: 10, perMonth: 100);
        moved.Restore(ledger.Export());
        Assert.False(moved.Settle(new LeaseSettlement(cut.Id, UnusedTokens: 3 * Usd, 0, 0)));
        Assert.False(moved.Settle(new LeaseSettlement(cut.Id, UnusedTokens: 3 * Usd, 0, 0)));
        var figures = moved.Figures();
        Assert.Equal((0L, 1 * Usd), (figures.DaySpent, figures.MonthSpent));

        // A lease that simply expired (its node is gone) stays charged in full.
        Assert.True(moved.TryGrant("b", 2 * Usd, out var lost));
        _time.Advance(TimeSpan.FromSeconds(11));
        Assert.False(moved.Settle(new LeaseSettlement(lost.Id, UnusedTokens: 2 * Usd, 0, 0)));
        Assert.Equal(3 * Usd, moved.Figures().MonthSpent);
    }

    [Fact]
    public void An_export_restored_later_keeps_the_leases_held_and_a_snapshot_from_yesterday_starts_a_new_day()
    {
        var ledger = Ledger(perDay: 10, perMonth: 100);
        Assert.True(ledger.TryGrant("a", 6 * Usd, out var lease));
        Assert.True(ledger.TryGrant("b", 1 * Usd, out var spent));
        Assert.True(ledger.Settle(new LeaseSettlement(spent.Id, 0, 0, 0)));
        var snapshot = ledger.Export();

        var moved = Ledger(perDay: 10, perMonth: 100);
        moved.Restore(snapshot);
        Assert.Equal(3 * Usd, moved.Available());
        Assert.True(moved.Settle(new LeaseSettlement(lease.Id, 6 * Usd, 0, 0)));
        Assert.Equal(9 * Usd, moved.Available());
        Assert.True(moved.TryGrant("c", 1, out var next));
        Assert.True(next.Id > lease.Id);

        _time.Advance(TimeSpan.FromDays(1));
        var nextDay = Ledger(perDay: 10, perMonth: 100);
        nextDay.Restore(snapshot);
        var figures = nextDay.Figures();
        // Yesterday's live lease was forfeited into yesterday (and the month: 1 + 6).
        Assert.Equal((0L, 7 * Usd, 0L), (figures.DaySpent, figures.MonthSpent, figures.Held));

        Assert.Throws<ArgumentException>(() => nextDay.Restore(snapshot with { DaySpent = -1 }));
        Assert.Throws<ArgumentException>(() => nextDay.Restore(snapshot with { Leases = [lease with { ExpiresAt = lease.ExpiresAt.AddDays(2) }] }));
    }

    [Fact]
    public void Amounts_are_checked_never_wrapped()
    {
        var ledger = Ledger(perDay: SpendCeiling.MaxUsd, perMonth: 0);
        Assert.True(ledger.TryGrant("a", long.MaxValue, out var lease));
        Assert.Equal(SpendCeiling.MaxUsd * Usd, lease.Tokens);

        Assert.Throws<ArgumentOutOfRangeException>(() => ledger.Settle(new LeaseSettlement(lease.Id, 0, 0, CarriedTokens: long.MaxValue)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ledger.Settle(new LeaseSettlement(lease.Id, -1, 0, 0)));
        Assert.True(ledger.Settle(new LeaseSettlement(lease.Id, 0, 0, CarriedTokens: SpendUnits.MaxCost)));
        Assert.Equal((SpendCeiling.MaxUsd * Usd) + SpendUnits.MaxCost, ledger.Figures().DaySpent);
        for (var i = 0; i < 4; i++)
        {
            ledger.Settle(new LeaseSettlement(0, 0, 0, CarriedTokens: SpendUnits.MaxCost));
        }

        Assert.Equal(long.MaxValue, ledger.Figures().DaySpent); // saturated at the top, not wrapped negative
        Assert.Equal(0, ledger.Available());

        Assert.Throws<ArgumentException>(() => Ledger(perDay: SpendCeiling.MaxUsd + 1, perMonth: 0));
        Assert.Throws<ArgumentException>(() => Ledger(perDay: -1, perMonth: 0));
    }

    [Fact]
    public void Costs_are_whole_nano_dollars_rounded_up_and_saturate()
    {
        var gpt41 = SpendPrice.FromUsd(0.002m, 0.008m);
        Assert.Equal((2_000_000L, 8_000_000L), (gpt41.InputNanosPer1k, gpt41.OutputNanosPer1k));
        Assert.Equal(2_000_000 + 4_000_000, gpt41.Cost(1_000, 500));
        Assert.Equal(1, SpendPrice.FromUsd(0.000_000_001m, 0).Cost(1, 0)); // a thousandth of a nano-dollar rounds up
        Assert.Equal(1, SpendUnits.FromUsd(0.000_000_000_1m));

        var absurd = SpendPrice.FromUsd(1_000_000_000m, 1_000_000_000m);
        Assert.Equal(SpendUnits.MaxCost, absurd.Cost(long.MaxValue, long.MaxValue));
        Assert.Equal(SpendUnits.MaxCost, SpendUnits.FromUsd(decimal.MaxValue));
    }

    [Fact]
    public void Nodes_spending_concurrently_from_their_leases_never_overspend_and_the_ledger_ends_exact()
    {
        // Four nodes on four threads, each renewing from the one ledger (serialised, like grain turns) and spending random
        // costs; actual costs are at most the estimate, as with a maximum-output reservation.
        const int Nodes = 4;
        var ledger = Ledger(perDay: 50, perMonth: 0);
        var grain = new Lock();
        long admitted = 0;
        var threads = Enumerable.Range(0, Nodes).Select(n => new Thread(() =>
        {
            var random = new Random(n);
            var wallet = new LeaseWallet(Options, _time);
            long mine = 0;
            int refusals = 0;
            while (refusals < 50)
            {
                if (wallet.NeedsRenewal())
                {
                    lock (grain)
                    {
                        ledger.Settle(wallet.Settle());
                        if (ledger.TryGrant("node-" + n, 5 * Usd, out var lease))
                        {
                            wallet.Accept(lease);
                        }
                    }
                }

                long estimate = random.NextInt64(1, Usd / 5);
                var reservation = new TokenReservation(estimate, 0, 0);
                if (!wallet.TrySpend(reservation, out var id))
                {
                    refusals++;
                    lock (grain)
                    {
                        ledger.Settle(wallet.Settle());
                        if (ledger.TryGrant("node-" + n, 5 * Usd, out var lease))
                        {
                            wallet.Accept(lease);
                        }
                    }

                    continue;
                }

                long actual = random.NextInt64(0, estimate + 1);
                wallet.Reconcile(id, reservation, actual);
                mine += actual;
            }

            lock (grain)
            {
                ledger.Settle(wallet.Settle());
            }

            Interlocked.Add(ref admitted, mine);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        var figures = ledger.Figures();
        Assert.Equal(0, figures.Held);
        Assert.Equal(admitted, figures.DaySpent);
        Assert.True(admitted <= 50 * Usd, $"admitted {admitted} nano-dollars over a 50 USD ceiling");
        // Spent down to less than one request's estimate of the ceiling.
        Assert.True(admitted > (50 * Usd) - (Nodes * Usd / 5), $"only {admitted} nano-dollars admitted");
    }
}
