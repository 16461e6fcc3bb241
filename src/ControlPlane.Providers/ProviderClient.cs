using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ControlPlane.Client;
using ControlPlane.Contracts.V1;

namespace ControlPlane.Providers;

/// <summary>Calls upstream providers in the OpenAI or Anthropic shape over one pooled <see cref="HttpClient"/>
/// (SocketsHttpHandler: connections are reused across calls and endpoints). Failures surface as
/// <see cref="ProviderCallException"/> with the outcome status, HTTP status and Retry-After to report; a stream that
/// fails after it wrote to the caller throws with <see cref="ProviderCallException.Final"/> set. Thread-safe.</summary>
public sealed class ProviderClient : IDisposable
{
    private static readonly MediaTypeHeaderValue s_json = new("application/json");
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ProviderClientOptions _options;
    private readonly TimeProvider _time;

    /// <summary>A client on its own pooled handler.</summary>
    public ProviderClient(ProviderClientOptions? options = null, TimeProvider? time = null)
        : this(new HttpClient(CreateHandler((options ?? new ProviderClientOptions()).Validate()), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan }, options, time)
    {
        _ownsHttp = true;
    }

    /// <summary>A client over <paramref name="http"/> (e.g. from <c>IHttpClientFactory</c>; not disposed by this
    /// client). Deadlines come from the calls' cancellation tokens, so set its Timeout to infinite.</summary>
    public ProviderClient(HttpClient http, ProviderClientOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
        _options = (options ?? new ProviderClientOptions()).Validate();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The handler <see cref="ProviderClient(ProviderClientOptions?, TimeProvider?)"/> uses: pooled, no cookies,
    /// no proxy, no decompression, unlimited connections per server.</summary>
    public static SocketsHttpHandler CreateHandler(ProviderClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new SocketsHttpHandler
        {
            ConnectTimeout = options.ConnectTimeout,
            PooledConnectionIdleTimeout = options.PooledConnectionIdleTimeout,
            PooledConnectionLifetime = options.PooledConnectionLifetime,
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = int.MaxValue,
        };
    }

    /// <summary>Sends <paramref name="request"/> to <paramref name="endpoint"/> without streaming and reads the answer.</summary>
    /// <exception cref="ProviderCallException">The upstream failed (status, HTTP status and Retry-After say how).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> ended the call.</exception>
    public async Task<ChatAnswer> SendAsync(UpstreamEndpoint endpoint, ChatRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(request);
        var started = _time.GetTimestamp();
        using var message = BuildRequest(endpoint, request, stream: false);
        using var response = await SendCoreAsync(message, cancellationToken).ConfigureAwait(false);
        var body = await ReadBodyAsync(response, _options.MaxResponseBytes, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw ProviderFailures.FromStatus(response, body.Span);
        }

        if (endpoint.Api == UpstreamApi.Anthropic)
        {
            if (!AnthropicShape.TryTranslateAnswer(body, _time.GetUtcNow().ToUnixTimeSeconds(), out var translated, out var text, out var served,
                out var inputTokens, out var outputTokens, out var why))
            {
                throw ProviderFailures.Invalid(why, final: false, (int)response.StatusCode);
            }

            return new ChatAnswer
            {
                Body = translated, Content = text, Model = served, InputTokens = inputTokens, OutputTokens = outputTokens,
                LatencyMs = (long)_time.GetElapsedTime(started).TotalMilliseconds,
            };
        }

        if (!OpenAiShape.TryReadAnswer(body, out var content, out var model, out var input, out var output, out var error))
        {
            throw ProviderFailures.Invalid(error, final: false, (int)response.StatusCode);
        }

        return new ChatAnswer
        {
            Body = body, Content = content, Model = model, InputTokens = input, OutputTokens = output,
            LatencyMs = (long)_time.GetElapsedTime(started).TotalMilliseconds,
        };
    }

    /// <summary>Streams <paramref name="request"/> from <paramref name="endpoint"/>: every event goes to
    /// <paramref name="write"/> as it arrives, in the OpenAI <c>chat.completion.chunk</c> shape (an OpenAI upstream's
    /// events byte for byte, an Anthropic upstream's translated), ending with <c>data: [DONE]</c>. The first content
    /// chunk's arrival is the TTFT. Nothing is written before the upstream answered 200, so a failure before the first
    /// write may be retried elsewhere; one after it has <see cref="ProviderCallException.Final"/> set.</summary>
    /// <exception cref="ProviderCallException">The upstream failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> ended the call before anything was written.</exception>
    public Task<ChatAnswer> StreamAsync(UpstreamEndpoint endpoint, ChatRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write,
        CancellationToken cancellationToken = default) =>
        StreamAsync(endpoint, request, write, cancellationToken, cancellationToken);

    /// <summary>Streams like <see cref="StreamAsync(UpstreamEndpoint, ChatRequest, Func{ReadOnlyMemory{byte}, CancellationToken, ValueTask}, CancellationToken)"/>
    /// under two bounds: <paramref name="firstEventToken"/> (the attempt's timeout) bounds the time until the first
    /// event is written to the caller and is no longer observed after it; from then on the stream runs while events
    /// keep arriving, cut when none arrives within <see cref="ProviderClientOptions.StreamIdleTimeout"/> (outcome
    /// <see cref="OutcomeStatus.Timeout"/>) or when <paramref name="streamToken"/> (the caller's connection and
    /// deadline) ends. Both tokens bound the stream before its first write.</summary>
    /// <exception cref="ProviderCallException">The upstream failed, went idle, or <paramref name="streamToken"/> ended
    /// the stream after its first write (<see cref="ProviderCallException.Final"/> set).</exception>
    /// <exception cref="OperationCanceledException">A token ended the call before anything was written.</exception>
    public async Task<ChatAnswer> StreamAsync(UpstreamEndpoint endpoint, ChatRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write,
        CancellationToken firstEventToken, CancellationToken streamToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(write);
        var started = _time.GetTimestamp();
        // One token for the whole call: cancelled by the attempt's timeout until the first write, by the caller's
        // token throughout, and by the idle timer (armed at the first write, re-armed on every event) after it.
        using var bound = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        var firstEvent = firstEventToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), bound);
        using var caller = streamToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), bound);
        try
        {
            return await StreamCoreAsync(endpoint, request, write, started, bound, firstEvent, streamToken).ConfigureAwait(false);
        }
        finally
        {
            firstEvent.Dispose();
        }
    }

    private async Task<ChatAnswer> StreamCoreAsync(UpstreamEndpoint endpoint, ChatRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write,
        long started, CancellationTokenSource bound, CancellationTokenRegistration firstEvent, CancellationToken streamToken)
    {
        var cancellationToken = bound.Token;
        using var message = BuildRequest(endpoint, request, stream: true);
        using var response = await SendCoreAsync(message, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var body = await ReadBodyAsync(response, 64 * 1024, cancellationToken).ConfigureAwait(false);
            throw ProviderFailures.FromStatus(response, body.Span);
        }

        var idle = _options.StreamIdleTimeout;
        var wrote = false;
        long ttft = 0;
        var anthropic = endpoint.Api == UpstreamApi.Anthropic ? new AnthropicShape.StreamTranslator(_time.GetUtcNow().ToUnixTimeSeconds()) : null;
        var state = anthropic?.State ?? new OpenAiShape.StreamState();
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var reader = new SseReader(stream, _options.MaxEventBytes);
            while (!state.Done && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                bool content;
                ReadOnlyMemory<byte> events;
                if (anthropic is null)
                {
                    content = OpenAiShape.ReadChunk(reader.Data.Span, state);
                    events = reader.Raw;
                }
                else
                {
                    content = anthropic.Translate(reader.Data.Span, out events);
                }

                if (state.Error is { } failure)
                {
                    throw new ProviderCallException(OutcomeStatus.ServerError, 200, null, $"upstream stream failed: {failure}") { Final = wrote };
                }

                if (content && !state.SawContent)
                {
                    state.SawContent = true;
                    ttft = Math.Max(1, (long)_time.GetElapsedTime(started).TotalMilliseconds);
                }

                if (wrote)
                {
                    bound.CancelAfter(idle); // an event arrived: the stream is alive
                }

                if (!events.IsEmpty)
                {
                    if (!wrote)
                    {
                        // The caller sees the answer start: no other endpoint can be tried any more, so the attempt's
                        // timeout stops applying; idleness, the caller's deadline and connection bound the rest.
                        wrote = true;
                        firstEvent.Dispose();
                        if (bound.IsCancellationRequested)
                        {
                            throw new OperationCanceledException(cancellationToken);
                        }

                        bound.CancelAfter(idle);
                    }

                    await write(events, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (JsonException error)
        {
            throw ProviderFailures.Invalid("a stream event is not JSON: " + error.Message, wrote);
        }
        catch (InvalidDataException error)
        {
            throw ProviderFailures.Invalid(error.Message, wrote);
        }
        catch (HttpRequestException error)
        {
            throw ProviderFailures.Connection(error, wrote);
        }
        catch (IOException error)
        {
            throw ProviderFailures.Connection(error, wrote);
        }
        catch (OperationCanceledException) when (wrote)
        {
            // Cut after the caller saw part of the answer: report it, try nowhere else.
            var why = streamToken.IsCancellationRequested
                ? "the caller's deadline or connection ended the stream"
                : $"no stream event within the idle timeout of {(long)idle.TotalMilliseconds} ms";
            throw new ProviderCallException(OutcomeStatus.Timeout, 200, null, "upstream stream cut: " + why) { Final = true };
        }

        if (!state.Done)
        {
            throw ProviderFailures.Invalid("the stream ended before [DONE]", wrote);
        }

        return new ChatAnswer
        {
            Content = state.Content.ToString(), Model = state.Model, InputTokens = state.InputTokens, OutputTokens = state.OutputTokens,
            TimeToFirstTokenMs = ttft, LatencyMs = (long)_time.GetElapsedTime(started).TotalMilliseconds,
        };
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private static HttpRequestMessage BuildRequest(UpstreamEndpoint endpoint, ChatRequest request, bool stream)
    {
        var body = new ArrayBufferWriter<byte>(1024);
        if (endpoint.Api == UpstreamApi.Anthropic)
        {
            AnthropicShape.WriteRequest(body, request, endpoint, stream);
        }
        else
        {
            OpenAiShape.WriteRequest(body, request, endpoint, stream);
        }

        var content = new ReadOnlyMemoryContent(body.WrittenMemory);
        content.Headers.ContentType = s_json;
        var message = new HttpRequestMessage(HttpMethod.Post, endpoint.CallUri) { Content = content };
        if (stream)
        {
            message.Headers.Accept.ParseAdd("text/event-stream");
        }

        if (endpoint.ApiKey is { } key)
        {
            if (endpoint.Api == UpstreamApi.Anthropic)
            {
                message.Headers.TryAddWithoutValidation("x-api-key", key);
            }
            else
            {
                message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }
        }

        if (endpoint.Api == UpstreamApi.Anthropic)
        {
            message.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        }

        return message;
    }

    private async Task<HttpResponseMessage> SendCoreAsync(HttpRequestMessage message, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException error)
        {
            throw ProviderFailures.Connection(error, final: false);
        }
        catch (IOException error)
        {
            throw ProviderFailures.Connection(error, final: false);
        }
    }

    private static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpResponseMessage response, int limit, CancellationToken cancellationToken)
    {
        try
        {
            if (response.Content.Headers.ContentLength is { } length && length > limit && response.IsSuccessStatusCode)
            {
                throw ProviderFailures.Invalid($"the answer is {length} bytes, more than {limit}", final: false, (int)response.StatusCode);
            }

            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var buffer = new byte[Math.Min(limit + 1, (int)Math.Min(response.Content.Headers.ContentLength ?? 4096, limit) + 1)];
            var filled = 0;
            while (true)
            {
                if (filled == buffer.Length)
                {
                    if (buffer.Length > limit)
                    {
                        if (!response.IsSuccessStatusCode)
                        {
                            return buffer.AsMemory(0, limit); // an error body: its head says enough
                        }

                        throw ProviderFailures.Invalid($"the answer is longer than {limit} bytes", final: false, (int)response.StatusCode);
                    }

                    Array.Resize(ref buffer, Math.Min(limit + 1, buffer.Length * 2));
                }

                var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return buffer.AsMemory(0, filled);
                }

                filled += read;
            }
        }
        catch (HttpRequestException error)
        {
            throw ProviderFailures.Connection(error, final: false);
        }
        catch (IOException error)
        {
            throw ProviderFailures.Connection(error, final: false);
        }
    }
}
