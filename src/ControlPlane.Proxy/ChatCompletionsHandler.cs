using System.Buffers;
using System.Globalization;
using ControlPlane.Client;
using ControlPlane.Contracts.V1;
using ControlPlane.Providers;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Polly.Timeout;

namespace ControlPlane.Proxy;

/// <summary><c>POST /v1/chat/completions</c>: names the workload class (class key or <c>X-Workload-Class</c>), checks the
/// body, and runs the call through <see cref="RoutedExecutor"/>: every attempt asks Route (failed endpoints excluded),
/// calls the chosen upstream under the decision's timeout and what remains of the request's deadline, and reports its
/// outcome (latency, TTFT, tokens, status, HTTP status, served model, the grader's verdict). No routing of its own.</summary>
internal sealed class ChatCompletionsHandler(
    ProxyOptions options, RoutedExecutor executor, ProviderClient provider)
{
    public const string EndpointHeader = "x-controlplane-endpoint";
    public const string RouteReasonHeader = "x-controlplane-route-reason";
    public const string AttemptsHeader = "x-controlplane-attempts";
    public const string DecisionHeader = "x-controlplane-decision-id";
    public const string QualityHeader = "x-controlplane-quality";
    public const string ClassHeader = "X-Workload-Class";
    public const string ExpectHeader = "X-ControlPlane-Expect";
    public const string DeadlineHeader = "X-ControlPlane-Deadline-Ms";
    public const string RequestIdHeader = "X-Request-Id";
    private const int MaxExpectLength = 4096;

    // RouteReason.HalfOpenProbe's wire name.
    private const string HalfOpenProbe = "half_open_probe";

    private readonly IReadOnlyDictionary<string, UpstreamEndpoint> _upstreams = options.Upstreams!;
    private readonly RoutedExecutor _executor = executor;
    private readonly ProviderClient _provider = provider;
    private readonly int _probeBufferBytes = options.ProbeBufferBytes;

    public async Task HandleAsync(HttpContext context)
    {
        var aborted = context.RequestAborted;
        var httpRequest = context.Request;
        var response = context.Response;
        // Every answer names its attempts; these stand until an attempt is made.
        response.Headers[EndpointHeader] = string.Empty;
        response.Headers[RouteReasonHeader] = string.Empty;
        response.Headers[AttemptsHeader] = "0";
        response.Headers[DecisionHeader] = string.Empty;
        if (!TryResolveClass(httpRequest, out var workloadClass, out var status, out var code, out var message)
            || !TryReadHeaders(httpRequest, out var deadlineMs, out var expect, out var requestId, out code, out message))
        {
            await OpenAiErrors.WriteAsync(response, status == 0 ? 400 : status, status == 401 ? "authentication_error" : "invalid_request_error", code, message, aborted)
                .ConfigureAwait(false);
            return;
        }

        byte[] body;
        try
        {
            body = await ReadBodyAsync(httpRequest, aborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException error) when (error.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // The rest of the body is not read: the connection cannot carry another request.
            response.Headers.Connection = "close";
            await OpenAiErrors.WriteAsync(response, 413, "invalid_request_error", "request_too_large",
                $"The request body is larger than {options.MaxRequestBytes} bytes.", aborted).ConfigureAwait(false);
            return;
        }

        if (!ChatRequest.TryParse(body, out var chat, out var parseError))
        {
            await OpenAiErrors.WriteAsync(response, 400, "invalid_request_error", "invalid_request", parseError, aborted).ConfigureAwait(false);
            return;
        }

        using (chat)
        {
            var route = new RouteRequest
            {
                WorkloadClass = workloadClass,
                RequestId = requestId ?? string.Empty,
                EstimatedInputTokens = chat.EstimatedInputTokens,
                MaxOutputTokens = chat.MaxOutputTokens,
                DeadlineMs = deadlineMs,
            };
            // A stream, once started, outlives the attempt's timeout while events keep flowing: this bounds it by the
            // caller's connection and deadline (the executor's clock starts a moment later, so this never cuts early).
            using var streamBound = deadlineMs > 0
                ? new CancellationTokenSource(TimeSpan.FromMilliseconds(deadlineMs), options.Time)
                : new CancellationTokenSource(Timeout.InfiniteTimeSpan, options.Time);
            using var abortedLink = aborted.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), streamBound);
            var call = new Call(this, context, chat, expect, streamBound.Token);
            await call.RunAsync(route).ConfigureAwait(false);
        }
    }

    private bool TryResolveClass(HttpRequest request, out string workloadClass, out int status, out string code, out string message)
    {
        workloadClass = string.Empty;
        status = 400;
        code = string.Empty;
        message = string.Empty;
        if (options.ClassKeys is { } keys)
        {
            var authorization = request.Headers.Authorization.ToString();
            if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                || !keys.TryGetValue(authorization[7..].Trim(), out var keyClass))
            {
                status = 401;
                code = "invalid_api_key";
                message = "Incorrect or missing API key: send Authorization: Bearer <proxy key>.";
                return false;
            }

            workloadClass = keyClass;
        }

        if (options.ClassHeader && request.Headers.TryGetValue(ClassHeader, out var header) && header.Count > 0)
        {
            var named = header.ToString();
            if (header.Count > 1 || !ClassKeysFile.IsValidClass(named))
            {
                code = "invalid_workload_class";
                message = $"{ClassHeader}: must be one workload class name (1 to 128 of A-Z a-z 0-9 _ . -).";
                return false;
            }

            workloadClass = named;
        }

        if (workloadClass.Length == 0)
        {
            code = "missing_workload_class";
            message = options.ClassHeader
                ? $"No workload class: send {ClassHeader}: <class>, or a proxy key that names one."
                : "No workload class: send a proxy key that names one.";
            return false;
        }

        status = 0;
        return true;
    }

    private bool TryReadHeaders(HttpRequest request, out long deadlineMs, out string? expect, out string? requestId, out string code, out string message)
    {
        deadlineMs = 0;
        expect = null;
        requestId = null;
        code = string.Empty;
        message = string.Empty;
        if (request.Headers.TryGetValue(DeadlineHeader, out var deadline))
        {
            if (!long.TryParse(deadline.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out deadlineMs)
                || deadlineMs < 1 || deadlineMs > (long)options.MaxDeadline.TotalMilliseconds)
            {
                code = "invalid_deadline";
                message = $"{DeadlineHeader}: must be an integer number of milliseconds between 1 and {(long)options.MaxDeadline.TotalMilliseconds}.";
                return false;
            }
        }

        if (request.Headers.TryGetValue(ExpectHeader, out var expected))
        {
            expect = expected.ToString();
            if (expected.Count != 1 || expect.Length is 0 or > MaxExpectLength)
            {
                code = "invalid_expect";
                message = $"{ExpectHeader}: must be one substring of 1 to {MaxExpectLength} characters.";
                return false;
            }
        }

        if (request.Headers.TryGetValue(RequestIdHeader, out var id))
        {
            requestId = id.ToString();
            if (id.Count != 1 || requestId.Length is 0 or > 256 || requestId.Any(c => c is < ' ' or > '~'))
            {
                code = "invalid_request_id";
                message = $"{RequestIdHeader}: must be 1 to 256 printable ASCII characters.";
                return false;
            }
        }

        return true;
    }

    private async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var limit = options.MaxRequestBytes;
        if (request.ContentLength is { } length)
        {
            if (length > limit)
            {
                throw new BadHttpRequestException("too large", StatusCodes.Status413PayloadTooLarge);
            }

            var exact = new byte[length];
            await request.Body.ReadExactlyAsync(exact, cancellationToken).ConfigureAwait(false);
            return exact;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            var filled = 0;
            while (true)
            {
                if (filled == buffer.Length)
                {
                    if (buffer.Length > limit)
                    {
                        throw new BadHttpRequestException("too large", StatusCodes.Status413PayloadTooLarge);
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, limit + 1));
                    buffer.AsSpan(0, filled).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    if (filled > limit)
                    {
                        throw new BadHttpRequestException("too large", StatusCodes.Status413PayloadTooLarge);
                    }

                    return buffer.AsSpan(0, filled).ToArray();
                }

                filled += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>One request's attempts: the last decision (for the answer's headers), whether the stream started.</summary>
    private sealed class Call(ChatCompletionsHandler owner, HttpContext context, ChatRequest chat, string? expect, CancellationToken streamBound)
    {
        private RouteDecision? _decision;
        private int _attempts;
        private bool _started;
        private QualityVerdict _verdict;

        public async Task RunAsync(RouteRequest route)
        {
            var aborted = context.RequestAborted;
            var response = context.Response;
            try
            {
                var answer = await owner._executor.ExecuteAsync(route, AttemptAsync, aborted).ConfigureAwait(false);
                if (!chat.Stream)
                {
                    SetHeaders(response);
                    response.StatusCode = 200;
                    response.ContentType = "application/json";
                    response.ContentLength = answer.Body.Length;
                    await response.Body.WriteAsync(answer.Body, aborted).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (aborted.IsCancellationRequested)
            {
                // The caller went away; nothing to answer.
            }
            catch (ProviderCallException error) when (_started)
            {
                // The caller already has part of the stream: no fallback is possible. End it with an error event.
                var failure = OpenAiErrors.StreamEvent("upstream_error", StatusName(error.Status), error.Message);
                await WriteStreamAsync(failure, aborted).ConfigureAwait(false);
            }
            catch (ProviderCallException error)
            {
                var (status, type) = error.Status switch
                {
                    OutcomeStatus.ClientError or OutcomeStatus.ContentFilter => (error.HttpStatus is >= 400 and < 500 ? error.HttpStatus : 400, "invalid_request_error"),
                    OutcomeStatus.Timeout => (504, "upstream_error"),
                    OutcomeStatus.RateLimited => (503, "upstream_error"),
                    _ => (502, "upstream_error"),
                };
                if (error.RetryAfter is { } after && status == 503)
                {
                    response.Headers.RetryAfter = Seconds(after.TotalMilliseconds);
                }

                await FailAsync(status, type, StatusName(error.Status), error.Message).ConfigureAwait(false);
            }
            catch (TimeoutRejectedException)
            {
                await FailAsync(504, "upstream_error", "timeout", "No answer within the decision's timeout or the request's deadline.").ConfigureAwait(false);
            }
            catch (NoRouteException error)
            {
                _decision ??= error.Decision;
                if (error.Decision.RouteReason == RoutedExecutor.QueueOnlyHold)
                {
                    response.Headers.RetryAfter = Seconds(Math.Max(error.Decision.RetryAfterMs, 1));
                    await FailAsync(429, "rate_limit_error", "queue_only_hold",
                        $"The class's primary endpoint cannot take the request yet; retry after {error.Decision.RetryAfterMs} ms.").ConfigureAwait(false);
                }
                else
                {
                    await FailAsync(503, "upstream_error", "no_route", $"No endpoint can serve this request ({error.Decision.RouteReason}).").ConfigureAwait(false);
                }
            }
            catch (RpcException error)
            {
                var (status, type, code) = error.StatusCode switch
                {
                    StatusCode.NotFound => (400, "invalid_request_error", "unknown_workload_class"),
                    StatusCode.InvalidArgument => (400, "invalid_request_error", "invalid_request"),
                    StatusCode.DeadlineExceeded => (504, "upstream_error", "timeout"),
                    StatusCode.ResourceExhausted => (429, "rate_limit_error", "rate_limited"),
                    _ => (503, "upstream_error", "control_plane_unavailable"),
                };
                await FailAsync(status, type, code, $"Route: {error.Status.Detail}").ConfigureAwait(false);
            }
        }

        private async ValueTask<ProviderResult<ChatAnswer>> AttemptAsync(RouteTarget target, CancellationToken cancellationToken)
        {
            _decision = target.Decision;
            _attempts = target.Attempt + 1;
            if (!owner._upstreams.TryGetValue(target.EndpointId, out var upstream))
            {
                throw new ProviderCallException(OutcomeStatus.ConnectionError, 0, null, $"The upstreams file has no address for endpoint {target.EndpointId}.");
            }

            ChatAnswer answer;
            if (chat.Stream)
            {
                // A half-open probe is held back from the caller (ProbeStreamBuffer): if it fails mid-stream the next
                // endpoint is tried, instead of cutting the caller's answer.
                var probe = owner._probeBufferBytes > 0 && !_started
                    && string.Equals(target.Decision.RouteReason, HalfOpenProbe, StringComparison.Ordinal)
                    ? new ProbeStreamBuffer(owner._probeBufferBytes, WriteStreamAsync)
                    : null;
                try
                {
                    answer = await owner._provider.StreamAsync(upstream, chat, probe is null ? WriteStreamAsync : probe.WriteAsync, cancellationToken, streamBound)
                        .ConfigureAwait(false);
                }
                catch (ProviderCallException error) when (error.Final && context.RequestAborted.IsCancellationRequested)
                {
                    // The caller left mid-stream: not the endpoint's fault; nothing is reported.
                    throw new OperationCanceledException("The caller went away.", error, context.RequestAborted);
                }
                catch (ProviderCallException error) when (error.Final && probe is { PassedThrough: false })
                {
                    // Nothing of the probe reached the caller: reported as the endpoint's failure, and retried elsewhere.
                    throw new ProviderCallException(error.Status, error.HttpStatus, error.RetryAfter,
                        $"{error.Message} (a half-open probe, held back: {probe.HeldBytes} bytes not sent to the caller)", error);
                }

                if (probe is not null)
                {
                    await probe.ReleaseAsync(context.RequestAborted).ConfigureAwait(false);
                }
            }
            else
            {
                answer = await owner._provider.SendAsync(upstream, chat, cancellationToken).ConfigureAwait(false);
            }

            _verdict = expect is null ? QualityVerdict.Unspecified
                : answer.Content.Contains(expect, StringComparison.Ordinal) ? QualityVerdict.Pass : QualityVerdict.Fail;
            return new ProviderResult<ChatAnswer>(answer, answer.InputTokens, answer.OutputTokens, answer.TimeToFirstTokenMs)
            {
                ModelVersion = answer.Model,
                Quality = _verdict,
            };
        }

        private async ValueTask WriteStreamAsync(ReadOnlyMemory<byte> events, CancellationToken cancellationToken)
        {
            var response = context.Response;
            if (!_started)
            {
                _started = true;
                SetHeaders(response);
                response.StatusCode = 200;
                response.ContentType = "text/event-stream";
                response.Headers.CacheControl = "no-cache";
            }

            await response.BodyWriter.WriteAsync(events, cancellationToken).ConfigureAwait(false);
        }

        private async Task FailAsync(int status, string type, string code, string message)
        {
            SetHeaders(context.Response);
            await OpenAiErrors.WriteAsync(context.Response, status, type, code, message, context.RequestAborted).ConfigureAwait(false);
        }

        private void SetHeaders(HttpResponse response)
        {
            var headers = response.Headers;
            headers[EndpointHeader] = _decision?.EndpointId ?? string.Empty;
            headers[RouteReasonHeader] = _decision?.RouteReason ?? string.Empty;
            headers[AttemptsHeader] = _attempts.ToString(CultureInfo.InvariantCulture);
            headers[DecisionHeader] = _decision?.DecisionId ?? string.Empty;
            if (_verdict != QualityVerdict.Unspecified)
            {
                headers[QualityHeader] = _verdict == QualityVerdict.Pass ? "pass" : "fail";
            }
        }

        private static string StatusName(OutcomeStatus status) => status switch
        {
            OutcomeStatus.ServerError => "server_error",
            OutcomeStatus.RateLimited => "rate_limited",
            OutcomeStatus.Timeout => "timeout",
            OutcomeStatus.ConnectionError => "connection_error",
            OutcomeStatus.InvalidResponse => "invalid_response",
            OutcomeStatus.ContentFilter => "content_filter",
            OutcomeStatus.ClientError => "client_error",
            _ => "upstream_error",
        };

        private static string Seconds(double milliseconds) =>
            ((long)Math.Ceiling(milliseconds / 1000)).ToString(CultureInfo.InvariantCulture);
    }
}
