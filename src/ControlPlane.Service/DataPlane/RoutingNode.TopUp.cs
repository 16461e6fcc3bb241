using System.Collections.Concurrent;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Routing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.DataPlane;

/// <summary>
/// Lease top-ups (<see cref="LeaseTopUpOptions"/>). A node's slices follow its own recent demand, so when a fault moves
/// a class to its fallback a node whose fallback slice was sized for the quiet time before spends it in the first
/// burst of retries. Rather than answer the rest <c>no_capacity</c> until the next renewal, a call refused while one of
/// its candidates' slices (or its class budget's) cannot pay asks the owning grain for a fresh slice at once (sized by
/// demand plus what the waiting calls need, up to the largest slice) and waits for it, at most
/// <see cref="LeaseTopUpOptions.MaxWait"/> and never past its deadline less the reply margin, then routes again. A grant
/// goes through the grain's ledger and is persisted before it is answered, as every renewal is: quota is never granted
/// beyond what the owner's bucket holds. When the grain has nothing to give the call is refused at once.
/// Only a call that would otherwise be refused gets here: the admitted path is unchanged.
/// </summary>
internal sealed partial class RoutingNode
{
    // Rounds of top-up then re-route one call may take (each needs a fresh slice to have arrived).
    private const int MaxTopUpRounds = 8;

    private static readonly string NoCapacityName = RouteReason.NoCapacity.ToWireName();

    // What calls waiting for a slot's top-up need, added to the slot's next ask (taken by RenewAsync).
    private readonly ConcurrentDictionary<(LeaseOwner Owner, int Index), (long Tokens, long Requests)> _shortfalls = new();
    // Slots whose last top-up brought nothing that pays, with the slice it brought and until when (EmptyBackoff).
    private readonly ConcurrentDictionary<(LeaseOwner Owner, int Index), (LeaseWallet? Wallet, DateTimeOffset Until)> _spent = new();
    private int _topUpWaiting;

    /// <summary>Calls waiting for a lease top-up now (for diagnostics and tests).</summary>
    internal int TopUpWaiting => Volatile.Read(ref _topUpWaiting);

    // A refusal with no endpoint for want of capacity (quota, or no eligible candidate): string compare on the refused path only.
    private static bool IsQuotaRefusal(Wire.RouteDecision reply) =>
        reply.EndpointId.Length == 0 && string.Equals(reply.RouteReason, NoCapacityName, StringComparison.Ordinal);

    private async Task<Wire.RouteDecision> TopUpAsync(Wire.RouteRequest request, TimeSpan? callDeadline, Wire.RouteDecision refusal,
        CancellationToken cancellationToken)
    {
        var wait = TopUpWait(request, callDeadline, out var deadlineAt);
        if (wait <= TimeSpan.Zero || !IsReady || cancellationToken.IsCancellationRequested
            || !Snapshot.TryGetClassIndex(request.WorkloadClass, out var classIndex))
        {
            return refusal;
        }

        if (Interlocked.Increment(ref _topUpWaiting) > _options.TopUp.MaxWaiting)
        {
            Interlocked.Decrement(ref _topUpWaiting);
            return refusal;
        }

        try
        {
            var until = _time.GetUtcNow() + wait;
            var reservation = TokenReservation.ForRequest(request.EstimatedInputTokens, request.MaxOutputTokens);
            var reply = refusal;
            for (var round = 0; round < MaxTopUpRounds; round++)
            {
                var dry = DrySlots(classIndex, request, reservation, out var paid);
                if (dry.Count == 0)
                {
                    if (paid)
                    {
                        // A slice that keeps no call out any more: another call's top-up brought it since this one was
                        // refused. One more try with what is there now.
                        reply = Route(request, DeadlineLeft(deadlineAt, callDeadline), countAttempt: false);
                    }

                    break;
                }

                var before = new LeaseWallet?[dry.Count];
                var joined = new bool[dry.Count];
                var renewals = new Task[dry.Count];
                for (var i = 0; i < dry.Count; i++)
                {
                    before[i] = Volatile.Read(ref Wallets(dry[i].Owner)[dry[i].Index]);
                    renewals[i] = RenewOnceAsync(dry[i].Owner, dry[i].Index, force: true, out joined[i]);
                }

                var left = until - _time.GetUtcNow();
                if (left <= TimeSpan.Zero || !await ArrivedAsync(Task.WhenAll(renewals), left, cancellationToken))
                {
                    break;
                }

                var fresh = false;
                var askAgain = false;
                var arrivedAt = _time.GetUtcNow();
                for (var i = 0; i < dry.Count; i++)
                {
                    var after = Volatile.Read(ref Wallets(dry[i].Owner)[dry[i].Index]);
                    var renewed = !ReferenceEquals(before[i], after);
                    fresh |= renewed;
                    if (!renewed && joined[i])
                    {
                        // The renewal this call joined was started by another and may have installed its slice before
                        // this call looked (the slice it saw is that one, spent by others since), or was a routine
                        // renewal that was not due: it says nothing about what the owner holds. Ask for one of its own.
                        askAgain = true;
                    }
                    else if (!renewed || GrantCannotPay(after, reservation))
                    {
                        // The owner gave nothing that pays for this call: refused calls are not topped up again (another
                        // grant, another write) until the backoff ends or another renewal brings a new slice.
                        _spent[dry[i]] = (after, arrivedAt + _options.TopUp.EmptyBackoff);
                    }
                }

                if (!fresh)
                {
                    if (askAgain)
                    {
                        continue;
                    }

                    // The owner had nothing to give: the quota is spent, not merely this node's slice.
                    break;
                }

                // Routed again with what is left of the deadline; the attempt was counted when the call arrived.
                reply = Route(request, DeadlineLeft(deadlineAt, callDeadline), countAttempt: false);
                if (!IsQuotaRefusal(reply))
                {
                    return reply;
                }
            }

            return reply;
        }
        finally
        {
            Interlocked.Decrement(ref _topUpWaiting);
        }
    }

    private TimeSpan? DeadlineLeft(DateTimeOffset? deadlineAt, TimeSpan? callDeadline) =>
        deadlineAt is { } at ? at - _time.GetUtcNow() : callDeadline;

    // The bounded wait: MaxWait, cut to the caller's deadline (the shorter of deadline_ms and the grpc-timeout) less the
    // reply margin (a quarter of the deadline, at least the queue's ReplyMargin), as a held call's is.
    private TimeSpan TopUpWait(Wire.RouteRequest request, TimeSpan? callDeadline, out DateTimeOffset? deadlineAt)
    {
        TimeSpan? remaining = request.DeadlineMs > 0 ? TimeSpan.FromMilliseconds(request.DeadlineMs) : callDeadline;
        if (callDeadline is { } call && remaining > call)
        {
            remaining = call;
        }

        var wait = _options.TopUp.MaxWait;
        deadlineAt = null;
        if (remaining is { } left)
        {
            deadlineAt = _time.GetUtcNow() + left;
            var margin = left / 4 > _holds.ReplyMargin ? left / 4 : _holds.ReplyMargin;
            if (left - margin < wait)
            {
                wait = left - margin;
            }
        }

        return wait;
    }

    // True when every renewal finished within the wait; false on timeout, cancellation or the node stopping.
    private async Task<bool> ArrivedAsync(Task renewals, TimeSpan wait, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        try
        {
            await renewals.WaitAsync(wait, _time, linked.Token).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (Exception error) when (IsCallFailure(error))
        {
            LogLeaseFailed(_logger, "top-up", error);
            return false;
        }
    }

    // The slots whose slice keeps this call out: every limited candidate endpoint the call does not exclude whose gate
    // refuses it and whose slice cannot pay (or is due for renewal anyway), and the class budget's slice if it cannot pay.
    // Each one's shortfall grows by the call's reservation. paid: a limited candidate's gate now admits the call (a
    // slice arrived since it was refused).
    private List<(LeaseOwner Owner, int Index)> DrySlots(int classIndex, Wire.RouteRequest request, in TokenReservation reservation, out bool paid)
    {
        var snapshot = Snapshot;
        var dry = new List<(LeaseOwner Owner, int Index)>();
        var (primaries, fallbacks) = snapshot.CandidatesOf(classIndex);
        var now = _time.GetUtcNow();
        paid = false;
        lock (_quotaLock)
        {
            for (var i = 0; i < primaries.Count + fallbacks.Count; i++)
            {
                var e = i < primaries.Count ? primaries[i] : fallbacks[i - primaries.Count];
                if (!Volatile.Read(ref _limited[e]) || Excluded(snapshot, request, e))
                {
                    continue;
                }

                // Only a slot that keeps this call out: an endpoint refused for its breaker with a slice that can pay is not dry.
                if (_quota.CanAdmit(classIndex, e, reservation, now))
                {
                    paid = true;
                }
                else if (IsDry(_wallets[e], reservation, now) && !InBackoff((LeaseOwner.Endpoint, e), _wallets[e], now))
                {
                    dry.Add((LeaseOwner.Endpoint, e));
                }
            }

            if (_classBudgeted[classIndex] && _classWallets[classIndex] is var budget && (budget is null || !budget.CanSpend(reservation, now))
                && !InBackoff((LeaseOwner.Class, classIndex), budget, now))
            {
                dry.Add((LeaseOwner.Class, classIndex));
            }
        }

        foreach (var slot in dry)
        {
            _shortfalls.AddOrUpdate(slot, static (_, need) => need,
                static (_, sum, need) => (sum.Tokens + need.Tokens, sum.Requests + need.Requests), (reservation.Tokens, reservation.Requests));
        }

        return dry;
    }

    // The slice as granted (not what other waiters have spent of it since) is too small for this call's reservation.
    private static bool GrantCannotPay(LeaseWallet? wallet, in TokenReservation reservation) =>
        wallet is null || wallet.Lease.Id == 0 || wallet.Lease.Tokens < reservation.Tokens || wallet.Lease.Requests < reservation.Requests;

    // A slot marked spent that still holds the slice it was marked with, within its backoff.
    private bool InBackoff((LeaseOwner Owner, int Index) slot, LeaseWallet? wallet, DateTimeOffset now)
    {
        if (!_spent.TryGetValue(slot, out var mark))
        {
            return false;
        }

        if (ReferenceEquals(mark.Wallet, wallet) && now < mark.Until)
        {
            return true;
        }

        _spent.TryRemove(new KeyValuePair<(LeaseOwner, int), (LeaseWallet?, DateTimeOffset)>(slot, mark));
        return false;
    }

    // Cannot pay, or due for renewal anyway (low, near expiry, or blocked by the priority reserve: a fresh slice pays).
    private static bool IsDry(LeaseWallet? wallet, in TokenReservation reservation, DateTimeOffset now) =>
        wallet is null || !wallet.CanSpend(reservation, now) || wallet.NeedsRenewal();

    private static bool Excluded(RoutingSnapshot snapshot, Wire.RouteRequest request, int endpoint)
    {
        var id = snapshot.EndpointAt(endpoint).Id;
        for (var i = 0; i < request.ExcludeEndpointIds.Count; i++)
        {
            if (string.Equals(request.ExcludeEndpointIds[i], id, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    // The ask grown by what waiting calls need (taken once: a later round adds its own), never beyond the largest slice
    // of a limited dimension. Reservations are bounded on the wire (MaxTokens) and waiters by MaxWaiting: no overflow.
    private LeaseAsk WithShortfall(LeaseOwner owner, int index, LeaseAsk ask, long tokensLimit, long requestsLimit)
    {
        if (!_shortfalls.TryRemove((owner, index), out var wanted))
        {
            return ask;
        }

        return ask with
        {
            Tokens = tokensLimit > 0 ? Math.Min(LeaseDemand.MaxSlice(tokensLimit, _options), checked(ask.Tokens + wanted.Tokens)) : ask.Tokens,
            Requests = requestsLimit > 0 ? Math.Min(LeaseDemand.MaxSlice(requestsLimit, _options), checked(ask.Requests + wanted.Requests)) : ask.Requests,
        };
    }
}
