using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ControlPlane.Domain.Quotas;
using Microsoft.Extensions.Time.Testing;
using FsCheck;
using FsCheck.Fluent;

namespace ControlPlane.Domain.Tests.Quotas;

/// <summary>A ledger moved (exported, serialized as grain state, restored into a new ledger) at random points behaves exactly
/// like one that never moved, over random sequences of grant / settle / charge / expire / advance.</summary>
public sealed class QuotaLedgerRestorePropertyTests
{
    private static readonly LeaseOptions Options = new() { Duration = TimeSpan.FromSeconds(10) };
    private static readonly QuotaLimits Limits = QuotaLimits.PerMinute(7_919, 97);
    private static readonly JsonSerializerOptions GrainStateJson =
        new(JsonSerializerDefaults.Web) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    private enum Kind
    {
        Grant,
        Settle,
        Reserve,
        Expire,
        Advance,
        Move,
    }

    private sealed record Op(Kind Kind, int Pick, long Amount, int Percent, int Ticks);

    private static readonly Gen<Op> OpGen =
        from kind in Gen.Elements(Kind.Grant, Kind.Grant, Kind.Settle, Kind.Reserve, Kind.Expire, Kind.Advance, Kind.Advance, Kind.Move)
        from pick in Gen.Choose(0, 7)
        from amount in Gen.Choose(1, 4_000)
        from percent in Gen.Choose(-20, 120)
        from ticks in Gen.Choose(1, 40_000_000)
        select new Op(kind, pick, amount, percent, ticks);

    [Fact]
    public void A_ledger_moved_at_random_points_is_indistinguishable_from_one_that_never_moved()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(Arb.From(Gen.ArrayOf(OpGen)), ops => MovesAreInvisible(ops)));
    }

    private static bool MovesAreInvisible(Op[] ops)
    {
        var time = new FakeTimeProvider();
        var stay = new QuotaLeaseLedger(new RateQuota(Limits, time), Options, time);
        var moved = new QuotaLeaseLedger(new RateQuota(Limits, time), Options, time);
        foreach (var op in ops)
        {
            switch (op.Kind)
            {
                case Kind.Grant:
                    bool a = stay.TryGrant($"node-{op.Pick}", op.Amount, op.Pick + 1, out var fromStay);
                    bool b = moved.TryGrant($"node-{op.Pick}", op.Amount, op.Pick + 1, out var fromMoved);
                    if (a != b || fromStay != fromMoved)
                    {
                        return false;
                    }

                    break;
                case Kind.Settle:
                    var live = stay.LiveLeases.ToList();
                    long id = live.Count > 0 ? live[op.Pick % live.Count].Id : op.Pick + 1;
                    var lease = live.FirstOrDefault(l => l.Id == id);
                    var settlement = new LeaseSettlement(id, lease.Tokens * op.Percent / 100, lease.Requests * op.Percent / 100, op.Amount - 2_000);
                    if (stay.Settle(settlement) != moved.Settle(settlement))
                    {
                        return false;
                    }

                    break;
                case Kind.Reserve:
                    var reservation = new TokenReservation(op.Amount, 0, 1);
                    if (stay.Quota.TryReserve(reservation) != moved.Quota.TryReserve(reservation))
                    {
                        return false;
                    }

                    break;
                case Kind.Expire:
                    if (stay.ExpireDue() != moved.ExpireDue())
                    {
                        return false;
                    }

                    break;
                case Kind.Advance:
                    time.Advance(TimeSpan.FromTicks(op.Ticks));
                    break;
                case Kind.Move:
                    var json = JsonSerializer.SerializeToUtf8Bytes(moved.Export(), GrainStateJson);
                    moved = new QuotaLeaseLedger(new RateQuota(Limits, time), Options, time);
                    moved.Restore(JsonSerializer.Deserialize<QuotaLedgerSnapshot>(json, GrainStateJson)!);
                    break;
            }

            if (!Same(stay, moved))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Same(QuotaLeaseLedger x, QuotaLeaseLedger y) =>
        x.Quota.Tokens!.Level == y.Quota.Tokens!.Level
        && x.Quota.Requests!.Level == y.Quota.Requests!.Level
        && x.OutstandingTokens == y.OutstandingTokens
        && x.OutstandingRequests == y.OutstandingRequests
        && x.Quota.TokensCharged == y.Quota.TokensCharged
        && x.Quota.Tokens.TimeUntilAvailable(1_000) == y.Quota.Tokens.TimeUntilAvailable(1_000)
        && x.LiveLeases.SequenceEqual(y.LiveLeases);
}
