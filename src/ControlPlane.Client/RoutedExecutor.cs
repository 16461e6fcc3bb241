using ControlPlane.Contracts.V1;
using Polly;
using Polly.Timeout;
using Outcome = ControlPlane.Contracts.V1.Outcome;

namespace ControlPlane.Client;

/// <summary>Where an attempt goes: the endpoint and the decision it came from.</summary>
/// <param name="EndpointId">The endpoint to call.</param>
/// <param name="Attempt">0 for the decision's endpoint, then 1, 2, ... along the fallback chain.</param>
/// <param name="Decision">The control plane's decision.</param>
public sealed record RouteTarget(string EndpointId, int Attempt, RouteDecision Decision);

/// <summary>What a successful provider call consumed.</summary>
/// <typeparam name="T">The provider's answer.</typeparam>
public sealed record ProviderResult<T>(T Value, long InputTokens, long OutputTokens, long TimeToFirstTokenMs = 0);

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
}

/// <summary>The control plane decided not to route the request (queue-only hold, no capacity).</summary>
public sealed class NoRouteException(RouteDecision decision)
    : Exception($"No endpoint for this request: {decision.RouteReason}")
{
    /// <summary>The decision (its route_reason says why).</summary>
    public RouteDecision Decision { get; } = decision;
}

/// <summary>Runs a provider call where the control plane says: each attempt under the decision's timeout (a Polly
/// timeout strategy), then along the approved fallback chain on endpoint failures; every attempt's outcome is
/// reported. Caller faults (client errors, content filter) are not retried elsewhere.</summary>
public sealed class RoutedExecutor(ControlPlaneClient client, OutcomeReporter reporter, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Routes <paramref name="request"/> and runs <paramref name="call"/> against the chosen endpoint and,
    /// if it fails, the fallbacks in order. Throws the last failure when the chain is exhausted.</summary>
    /// <exception cref="Grpc.Core.RpcException">Route failed (its status says why); the provider was not called.</exception>
    /// <exception cref="NoRouteException">The node decided not to route the request.</exception>
    /// <exception cref="TimeoutRejectedException">The last candidate outlived the decision's timeout.</exception>
    /// <exception cref="ProviderCallException">A caller fault, or the last candidate's failure.</exception>
    public async Task<T> ExecuteAsync<T>(RouteRequest request, Func<RouteTarget, CancellationToken, ValueTask<ProviderResult<T>>> call,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(call);
        var decision = await client.RouteAsync(request, cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(decision.EndpointId))
        {
            throw new NoRouteException(decision);
        }

        var chain = new List<string>(1 + decision.Fallbacks.Count) { decision.EndpointId };
        chain.AddRange(decision.Fallbacks);
        var timeout = TimeSpan.FromMilliseconds(Math.Max(1, decision.TimeoutMs));
        var pipeline = new ResiliencePipelineBuilder { TimeProvider = _time }.AddTimeout(timeout).Build();
        Exception? last = null;
        for (var attempt = 0; attempt < chain.Count; attempt++)
        {
            var target = new RouteTarget(chain[attempt], attempt, decision);
            var started = _time.GetTimestamp();
            try
            {
                var result = await pipeline.ExecuteAsync(static (state, token) => state.call(state.target, token), (call, target), cancellationToken)
                    .ConfigureAwait(false);
                Report(request, decision, target.EndpointId, OutcomeStatus.Success, started, result.InputTokens, result.OutputTokens, result.TimeToFirstTokenMs);
                return result.Value;
            }
            catch (TimeoutRejectedException error)
            {
                Report(request, decision, target.EndpointId, OutcomeStatus.Timeout, started);
                last = error;
            }
            catch (ProviderCallException error)
            {
                Report(request, decision, target.EndpointId, error.Status, started, httpStatus: error.HttpStatus, retryAfter: error.RetryAfter);
                if (error.Status is OutcomeStatus.ClientError or OutcomeStatus.ContentFilter)
                {
                    throw;
                }

                last = error;
            }
        }

        throw last!;
    }

    private void Report(RouteRequest request, RouteDecision decision, string endpointId, OutcomeStatus status, long started,
        long inputTokens = 0, long outputTokens = 0, long ttftMs = 0, int httpStatus = 0, TimeSpan? retryAfter = null)
    {
        reporter.Enqueue(new Outcome
        {
            DecisionId = endpointId == decision.EndpointId ? decision.DecisionId : "",
            EndpointId = endpointId,
            WorkloadClass = request.WorkloadClass,
            Status = status,
            HttpStatus = httpStatus,
            LatencyMs = (long)_time.GetElapsedTime(started).TotalMilliseconds,
            TtftMs = ttftMs,
            InputTokens = inputTokens,
            OutputTokens = outputTokens,
            RetryAfterMs = (long)(retryAfter?.TotalMilliseconds ?? 0),
        });
    }
}
