using ControlPlane.Contracts.V1;
using Grpc.Core;
using Polly;
using Polly.Timeout;
using Outcome = ControlPlane.Contracts.V1.Outcome;

namespace ControlPlane.Client;

/// <summary>Where an attempt goes: the endpoint and the decision it came from.</summary>
/// <param name="EndpointId">The endpoint to call.</param>
/// <param name="Attempt">0 for the first attempt, then 1, 2, ... for each retry (each asked Route again).</param>
/// <param name="Decision">The control plane's decision for this attempt.</param>
public sealed record RouteTarget(string EndpointId, int Attempt, RouteDecision Decision);

/// <summary>What a successful provider call consumed.</summary>
/// <typeparam name="T">The provider's answer.</typeparam>
public sealed record ProviderResult<T>(T Value, long InputTokens, long OutputTokens, long TimeToFirstTokenMs = 0)
{
    /// <summary>The model version the provider says it served (its response's <c>model</c> field), reported as the
    /// outcome's <c>returned_model_version</c>; null or empty when unknown. Longer than 128 characters is cut.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>The grader's verdict on the answer, when one ran; reported as the outcome's quality.</summary>
    public QualityVerdict Quality { get; init; }
}

/// <summary>Thrown by a provider call to say how it failed (5xx, 429 with Retry-After, content filter, ...).</summary>
public sealed class ProviderCallException : Exception
{
    /// <summary>Creates the failure.</summary>
    public ProviderCallException(OutcomeStatus status, int httpStatus = 0, TimeSpan? retryAfter = null, string? message = null, Exception? inner = null)
        : base(message ?? $"Provider call failed: {status}", inner)
    {
        Status = status;
        HttpStatus = httpStatus;
        RetryAfter = retryAfter;
    }

    /// <summary>The outcome to report.</summary>
    public OutcomeStatus Status { get; }

    /// <summary>The provider's HTTP status, if any.</summary>
    public int HttpStatus { get; }

    /// <summary>The provider's Retry-After, if any.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>True when the caller already received part of the answer (a stream failed after its first bytes went
    /// out): the attempt is reported, but no other endpoint is tried.</summary>
    public bool Final { get; init; }
}

/// <summary>The control plane decided not to route the request (queue-only hold, no capacity).</summary>
public sealed class NoRouteException(RouteDecision decision)
    : Exception($"No endpoint for this request: {decision.RouteReason}")
{
    /// <summary>The decision (its route_reason says why).</summary>
    public RouteDecision Decision { get; } = decision;
}

/// <summary>Runs a provider call where the control plane says, attempt by attempt: <b>every</b> attempt asks <c>Route</c>
/// (<c>attempt</c> = 0, 1, 2, ... with the endpoints that already failed in <c>exclude_endpoint_ids</c>), so every
/// attempt pays quota, passes the class's retry budget and carries its own route reason and decision id. The caller's
/// deadline (<see cref="RouteRequest.DeadlineMs"/>, measured from the start of <see cref="ExecuteAsync{T}"/>) is shared:
/// each attempt gets what <b>remains</b> of it, as <c>deadline_ms</c>, as the Route call's deadline and as a cap on the
/// attempt's Polly timeout. Between attempts after a 429 or 5xx it backs off with jitter, at least the provider's
/// Retry-After (capped by <see cref="RoutedExecutorOptions.MaxRetryAfter"/>), never past the deadline. Every attempt's
/// outcome is reported. Caller faults (client errors, content filter) are not retried.</summary>
public sealed class RoutedExecutor(ControlPlaneClient client, OutcomeReporter reporter, TimeProvider? time = null, RoutedExecutorOptions? options = null)
{
    /// <summary>The route reason of a queue_only class's held answer (no endpoint, <c>retry_after_ms</c> set).</summary>
    public const string QueueOnlyHold = "queue_only_hold";

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly RoutedExecutorOptions _options = (options ?? new RoutedExecutorOptions()).Validate();

    // One timeout pipeline for every attempt (Polly pipelines are built once and reused); each attempt's timeout
    // travels in its ResilienceContext.
    // deadline_ms of a caller without a deadline (routing.proto).
    private const long NoDeadline = -1;

    private static readonly ResiliencePropertyKey<TimeSpan> s_attemptTimeout = new("controlplane.attempt-timeout");
    private readonly ResiliencePipeline _pipeline = new ResiliencePipelineBuilder { TimeProvider = time ?? TimeProvider.System }
        .AddTimeout(new TimeoutStrategyOptions
        {
            TimeoutGenerator = static args => new ValueTask<TimeSpan>(args.Context.Properties.GetValue(s_attemptTimeout, TimeSpan.FromSeconds(30))),
        })
        .Build();

    /// <summary>Routes <paramref name="request"/> and runs <paramref name="call"/> against the chosen endpoint; if it
    /// fails, asks Route again for the next attempt (excluding every endpoint that failed) until an attempt succeeds,
    /// <see cref="RoutedExecutorOptions.MaxAttempts"/> are spent, the node answers no endpoint for a retry (no approved
    /// endpoint left, or <c>retry_budget_exhausted</c>) or the deadline leaves no room: then the last failure is thrown.</summary>
    /// <exception cref="Grpc.Core.RpcException">Route failed (its status says why); the provider was not called again.</exception>
    /// <exception cref="NoRouteException">The node decided not to route the first attempt.</exception>
    /// <exception cref="TimeoutRejectedException">The last attempt outlived its timeout (the decision's, or what
    /// remained of the deadline).</exception>
    /// <exception cref="ProviderCallException">A caller fault, or the last attempt's failure.</exception>
    public async Task<T> ExecuteAsync<T>(RouteRequest request, Func<RouteTarget, CancellationToken, ValueTask<ProviderResult<T>>> call,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(call);
        var started = _time.GetTimestamp();
        TimeSpan? deadline = request.DeadlineMs > 0 ? TimeSpan.FromMilliseconds(request.DeadlineMs) : null;
        // One request id for all attempts, so the node counts them as one request (availability counts requests).
        var requestId = string.IsNullOrEmpty(request.RequestId) ? Guid.NewGuid().ToString("N") : request.RequestId;
        var failed = new List<string>();
        Exception? last = null;
        for (var attempt = 0; attempt < _options.MaxAttempts; attempt++)
        {
            var remaining = deadline - _time.GetElapsedTime(started);
            if (remaining is { } left && left < TimeSpan.FromMilliseconds(1))
            {
                break;
            }

            var attemptRequest = request.Clone();
            attemptRequest.Attempt = attempt;
            attemptRequest.RequestId = requestId;
            attemptRequest.ExcludeEndpointIds.Add(failed);
            RouteDecision decision;
            try
            {
                decision = await RouteAsync(attemptRequest, remaining, cancellationToken).ConfigureAwait(false);
                if (last is null && _options.WaitOnQueueHold)
                {
                    decision = await WaitOutHoldsAsync(attemptRequest, decision, started, deadline, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (RpcException error) when (last is not null && error.StatusCode == StatusCode.DeadlineExceeded)
            {
                // The deadline ran out while a retry was being routed: the failure that made the retry is the answer.
                break;
            }

            if (string.IsNullOrEmpty(decision.EndpointId))
            {
                // A retry the node refused (its reason says why: no endpoint left, the class's retry budget) ends the
                // walk with the failure that made it.
                if (last is null)
                {
                    throw new NoRouteException(decision);
                }

                break;
            }

            var target = new RouteTarget(decision.EndpointId, attempt, decision);
            var timeout = TimeSpan.FromMilliseconds(Math.Max(1, decision.TimeoutMs));
            // What is left of the deadline now that the Route call took its share.
            if (deadline - _time.GetElapsedTime(started) is { } budget && budget < timeout)
            {
                if (budget < TimeSpan.FromMilliseconds(1))
                {
                    last ??= new TimeoutRejectedException("The caller's deadline passed while the attempt was being routed.");
                    break;
                }

                timeout = budget;
            }

            var attemptStarted = _time.GetTimestamp();
            TimeSpan? retryAfter = null;
            var backOff = false;
            try
            {
                var result = await RunAttemptAsync(call, target, timeout, cancellationToken).ConfigureAwait(false);
                Report(request, decision, OutcomeStatus.Success, attemptStarted, result.InputTokens, result.OutputTokens, result.TimeToFirstTokenMs,
                    modelVersion: result.ModelVersion, quality: result.Quality, requestId: requestId, attempt: attempt);
                return result.Value;
            }
            catch (TimeoutRejectedException error)
            {
                Report(request, decision, OutcomeStatus.Timeout, attemptStarted, requestId: requestId, attempt: attempt);
                last = error;
            }
            catch (ProviderCallException error)
            {
                Report(request, decision, error.Status, attemptStarted, httpStatus: error.HttpStatus, retryAfter: error.RetryAfter,
                    requestId: requestId, attempt: attempt);
                if (error.Final || error.Status is OutcomeStatus.ClientError or OutcomeStatus.ContentFilter)
                {
                    throw;
                }

                last = error;
                retryAfter = error.RetryAfter;
                backOff = error.Status is OutcomeStatus.RateLimited or OutcomeStatus.ServerError || error.HttpStatus is 429 or >= 500;
            }

            failed.Add(decision.EndpointId);
            if (backOff && attempt + 1 < _options.MaxAttempts)
            {
                var wait = Backoff(attempt, retryAfter);
                if (deadline - _time.GetElapsedTime(started) is { } rest && wait >= rest)
                {
                    // The wait would end past the caller's deadline: no attempt could follow it.
                    break;
                }

                await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
            }
        }

        throw last ?? new TimeoutRejectedException("The caller's deadline had passed before the first attempt.");
    }

    private async ValueTask<ProviderResult<T>> RunAttemptAsync<T>(Func<RouteTarget, CancellationToken, ValueTask<ProviderResult<T>>> call, RouteTarget target,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            context.Properties.Set(s_attemptTimeout, timeout);
            return await _pipeline.ExecuteAsync(static (context, state) => state.call(state.target, context.CancellationToken), context, (call, target))
                .ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>The wait before the retry after attempt <paramref name="attempt"/>: exponential from
    /// <see cref="RoutedExecutorOptions.BaseBackoff"/> up to <see cref="RoutedExecutorOptions.MaxBackoff"/>, drawn from
    /// [half, all] of it, and at least the provider's Retry-After capped by <see cref="RoutedExecutorOptions.MaxRetryAfter"/>.</summary>
    internal TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        var exponential = _options.BaseBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20));
        var capped = Math.Min(exponential, _options.MaxBackoff.TotalMilliseconds);
        var jittered = TimeSpan.FromMilliseconds((capped / 2) + (Random.Shared.NextDouble() * capped / 2));
        if (retryAfter is { } after && after > TimeSpan.Zero)
        {
            var honoured = after < _options.MaxRetryAfter ? after : _options.MaxRetryAfter;
            return honoured > jittered ? honoured : jittered;
        }

        return jittered;
    }

    // A queue_only class held the first attempt (route_reason queue_only_hold): wait the node's retry_after_ms (at most
    // QueueHoldPollInterval) and ask again, as long as the wait ends within the caller's deadline (or MaxQueueHoldWait without one). The last hold
    // decision comes back when no room is left; the caller turns it into NoRouteException.
    private async Task<RouteDecision> WaitOutHoldsAsync(RouteRequest request, RouteDecision decision, long started, TimeSpan? deadline,
        CancellationToken cancellationToken)
    {
        var limit = deadline ?? _options.MaxQueueHoldWait;
        while (string.IsNullOrEmpty(decision.EndpointId) && decision.RouteReason == QueueOnlyHold)
        {
            var wait = TimeSpan.FromMilliseconds(Math.Clamp(decision.RetryAfterMs, 10, (long)_options.QueueHoldPollInterval.TotalMilliseconds));
            var left = limit - _time.GetElapsedTime(started);
            if (wait >= left)
            {
                return decision;
            }

            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
            var remaining = deadline is null ? (TimeSpan?)null : deadline - _time.GetElapsedTime(started);
            if (remaining is { } r && r < TimeSpan.FromMilliseconds(1))
            {
                return decision;
            }

            decision = await RouteAsync(request, remaining, cancellationToken).ConfigureAwait(false);
        }

        return decision;
    }

    // The Route call ends with the caller's deadline when there is one (the node sees it as deadline_ms and as the
    // call's grpc-timeout); otherwise the client's default Route timeout applies to the call alone (deadline_ms -1).
    private Task<RouteDecision> RouteAsync(RouteRequest request, TimeSpan? remaining, CancellationToken cancellationToken)
    {
        if (remaining is not { } left)
        {
            // No deadline: the client's Route timeout bounds the call, and deadline_ms -1 tells the node it is not the
            // caller's deadline (else a 2 s transport bound would cap every decision's timeout at 2 s).
            request.DeadlineMs = NoDeadline;
            return client.RouteAsync(request, cancellationToken);
        }

        request.DeadlineMs = Math.Max(1, (long)left.TotalMilliseconds);
        // Grpc.Net.Client measures deadlines on the system clock.
        return client.RouteAsync(request, DateTime.UtcNow + left, cancellationToken);
    }

    private void Report(RouteRequest request, RouteDecision decision, OutcomeStatus status, long started,
        long inputTokens = 0, long outputTokens = 0, long ttftMs = 0, int httpStatus = 0, TimeSpan? retryAfter = null,
        string? modelVersion = null, QualityVerdict quality = QualityVerdict.Unspecified, string? requestId = null, int attempt = 0)
    {
        var outcome = new Outcome
        {
            DecisionId = decision.DecisionId,
            EndpointId = decision.EndpointId,
            WorkloadClass = request.WorkloadClass,
            Status = status,
            HttpStatus = httpStatus,
            LatencyMs = (long)_time.GetElapsedTime(started).TotalMilliseconds,
            TtftMs = ttftMs,
            InputTokens = inputTokens,
            OutputTokens = outputTokens,
            RetryAfterMs = (long)(retryAfter?.TotalMilliseconds ?? 0),
            RequestId = requestId ?? string.Empty,
            Attempt = attempt,
        };
        if (!string.IsNullOrEmpty(modelVersion))
        {
            outcome.ReturnedModelVersion = modelVersion.Length > 128 ? modelVersion[..128] : modelVersion;
        }

        if (quality != QualityVerdict.Unspecified)
        {
            outcome.Quality = new Quality { Verdict = quality };
        }

        reporter.Enqueue(outcome);
    }
}
