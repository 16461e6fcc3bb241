using ControlPlane.Domain.Endpoints;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.DataPlane;

/// <summary>Held Route calls of <c>queue_only</c> classes (see <see cref="RouteHoldQueue"/>).</summary>
internal sealed partial class RoutingNode
{
    /// <summary>Calls of <paramref name="workloadClass"/> this node holds now (0 for an unknown class).</summary>
    public int HeldCalls(string workloadClass) => Snapshot.TryGetClassIndex(workloadClass, out var c) ? _holds.Depth(c) : 0;

    /// <summary>Tokens and requests Route has reserved from the current lease of <paramref name="endpointId"/>'s wallet on
    /// this node (an outcome gives unused tokens back); null when the endpoint is not limited or has no active lease.
    /// For diagnostics and tests: a call that was held and never given an endpoint leaves this as it was.</summary>
    internal (long Tokens, long Requests)? LeaseSpent(string endpointId)
    {
        if (!Snapshot.TryGetEndpointIndex(endpointId, out var index))
        {
            return null;
        }

        lock (_quotaLock)
        {
            var wallet = _wallets[index];
            if (wallet is null || !wallet.IsActive(_time.GetUtcNow()))
            {
                return null;
            }

            return (wallet.Lease.Tokens - wallet.TokensLeft, wallet.Lease.Requests - wallet.RequestsLeft);
        }
    }

    /// <summary>Route for the gRPC service: decides at once (a completed task, exactly <see cref="Route"/>), except for a
    /// <c>queue_only</c> class whose primary is unavailable, whose call is held until the primary can take it or its
    /// wait runs out (the class's <c>queue.max_wait_ms</c>, or the caller's deadline less the reply margin).
    /// Throws <see cref="RoutingRequestException"/> for bad input; a held call's task may fault with one.</summary>
    public Task<Wire.RouteDecision> RouteAsync(Wire.RouteRequest request, TimeSpan? callDeadline, CancellationToken cancellationToken)
    {
        if (!_holds.IsEmpty && Snapshot.TryGetClassIndex(request.WorkloadClass, out var waiting) && _holds.Depth(waiting) > 0)
        {
            // Older calls of the class are held: the ones the primary can take now go first, so this one cannot
            // overtake them in the moment between a recovery and the re-check it triggered.
            _holds.Recheck(waiting);
        }

        var reply = Route(request, callDeadline);
        if (RouteHoldQueue.IsHold(reply))
        {
            return Hold(request, callDeadline, reply, cancellationToken);
        }

        // Refused for want of quota: wait (bounded) for this node's dry slices to be topped up (RoutingNode.TopUp.cs).
        return IsQuotaRefusal(reply) ? TopUpAsync(request, callDeadline, reply, cancellationToken) : Task.FromResult(reply);
    }

    private Task<Wire.RouteDecision> Hold(Wire.RouteRequest request, TimeSpan? callDeadline, Wire.RouteDecision reply, CancellationToken cancellationToken)
    {
        // Route answered, so the class is known.
        Snapshot.TryGetClassIndex(request.WorkloadClass, out var classIndex);
        var limits = _catalog.Fleet.Classes[classIndex].Queue;
        // The shorter of the caller's stated deadline and the call's own grpc-timeout, as Route takes it.
        TimeSpan? remaining = request.DeadlineMs > 0 ? TimeSpan.FromMilliseconds(request.DeadlineMs) : callDeadline;
        if (callDeadline is { } call && remaining > call)
        {
            remaining = call;
        }

        // The answer must reach the caller before its own clock runs out: the node's deadline starts when the call
        // arrived, the caller's when it was sent, and a busy node or network adds to both ends (a loaded 2-core machine
        // delays an answer by a few hundred ms). So the margin grows with the deadline (a quarter of it), never below
        // ReplyMargin; a caller that waits out holds routes again with what it has left.
        var wait = limits.MaxWait;
        if (remaining is { } left)
        {
            var margin = left / 4 > _holds.ReplyMargin ? left / 4 : _holds.ReplyMargin;
            if (left - margin < wait)
            {
                wait = left - margin;
            }
        }

        var held = limits.Holds
            ? _holds.TryHold(classIndex, limits.MaxDepth, wait, request, remaining is { } r ? _time.GetUtcNow() + r : null, reply, cancellationToken)
            : null;
        return held ?? Task.FromResult(_holds.HoldAnswer(classIndex, reply));
    }

    private int HeldDepth(int classIndex) => _holds.Depth(classIndex);

    // A held call routed again with the deadline it has left (timeout_ms is capped by it, never by the original); one
    // with less left than its primaries' p95 answer time stays held (RoutingNode.HeldServeTime.cs).
    private Wire.RouteDecision Reroute(HeldRoute held)
    {
        TimeSpan? left = held.DeadlineAt is { } at ? at - _time.GetUtcNow() : null;
        return left is { } l && TooLittleLeftToServe(held.ClassIndex, l) ? held.HoldReply : Route(held.Request, left, countAttempt: false);
    }

    /// <summary>The retry_after_ms of a hold answer: until the first primary's rate-limit cooldown or timed override
    /// ends when one is known, else the class's max wait (the line turns over within one), else one second.</summary>
    private long RetryAfterMs(int classIndex)
    {
        var snapshot = Snapshot;
        var primaries = snapshot.ClassAt(classIndex).Primary;
        var now = _time.GetUtcNow();
        var soonest = TimeSpan.MaxValue;
        lock (_tableLock)
        {
            for (var i = 0; i < primaries.Count; i++)
            {
                if (!snapshot.TryGetEndpointIndex(primaries[i], out var e))
                {
                    continue;
                }

                var view = _views[e];
                if (view.RateLimitedUntil is { } until && until > now && until - now < soonest)
                {
                    soonest = until - now;
                }

                if (view.Override is { Kind: not OverrideKind.ForceClosed, ExpiresAt: { } expires } && expires > now && expires - now < soonest)
                {
                    soonest = expires - now;
                }
            }
        }

        if (soonest != TimeSpan.MaxValue)
        {
            return (long)Math.Ceiling(soonest.TotalMilliseconds);
        }

        var maxWait = _catalog.Fleet.Classes[classIndex].Queue.MaxWait;
        return maxWait > TimeSpan.Zero ? (long)maxWait.TotalMilliseconds : 1_000;
    }
}
