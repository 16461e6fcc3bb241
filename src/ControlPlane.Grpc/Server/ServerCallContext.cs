using System.Globalization;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ControlPlane.Grpc.Server;

/// <summary>The server side of one call: who called, with which metadata and deadline, the
/// cancellation token to honour, and the response headers, trailers and status to send.</summary>
public sealed class ServerCallContext
{
    internal const string DeadlineExceededDetail = "Deadline Exceeded";
    internal const string GenericHandlerError = "Exception was thrown by handler.";
    internal const string ClientCancelledDetail = "Call canceled by the client.";
    internal const string ShuttingDownDetail = "Server is shutting down.";

    /// <summary>Timers cannot be armed beyond ~49 days; a longer timeout is as good as none.</summary>
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly HttpContext _http;
    private readonly GrpcServerRuntime _runtime;
    private Metadata? _requestHeaders;
    private Metadata? _responseTrailers;
    private CancellationTokenSource? _cts;
    private CancellationTokenRegistration _abortedRegistration;
    private CancellationTokenRegistration _shutdownRegistration;
    private ITimer? _deadlineTimer;
    private TaskCompletionSource? _deadlineSignal;
    private SemaphoreSlim? _writeGate;
    private volatile bool _deadlineExceeded;
    private bool _completed;
    private bool _responseStarted;
    private string? _responseCompression;
    private ICompressionProvider? _compressor;

    internal ServerCallContext(HttpContext http, GrpcServerRuntime runtime, string method)
    {
        _http = http;
        _runtime = runtime;
        Method = method;
        var response = http.Response;
        response.ContentType = GrpcProtocol.ContentType;
        // Kestrel keeps the gRPC headers as known fields: the typed properties skip the unknown-header dictionary.
        response.Headers.GrpcAcceptEncoding = GrpcCompression.AcceptEncoding;
        var encoding = http.Request.Headers.GrpcEncoding.ToString();
        RequestEncoding = encoding.Length == 0 || encoding == GrpcProtocol.IdentityEncoding ? null : encoding;
    }

    /// <summary>The method's path, e.g. <c>/grpc.health.v1.Health/Check</c>.</summary>
    public string Method { get; }

    /// <summary>The <c>:authority</c> the client called.</summary>
    public string Host => _http.Request.Host.Value ?? "";

    /// <summary>The caller's address in gRPC's form, e.g. <c>ipv4:127.0.0.1:51234</c>.</summary>
    public string Peer
    {
        get
        {
            var connection = _http.Connection;
            return connection.RemoteIpAddress switch
            {
                null => "unknown",
                { AddressFamily: AddressFamily.InterNetworkV6 } ip when !ip.IsIPv4MappedToIPv6 =>
                    string.Create(CultureInfo.InvariantCulture, $"ipv6:[{ip}]:{connection.RemotePort}"),
                var ip => string.Create(CultureInfo.InvariantCulture, $"ipv4:{ip.MapToIPv4()}:{connection.RemotePort}"),
            };
        }
    }

    /// <summary>When the call must end (UTC), from the client's <c>grpc-timeout</c>;
    /// <see cref="DateTime.MaxValue"/> when it sent none.</summary>
    public DateTime Deadline { get; private set; } = DateTime.MaxValue;

    /// <summary>The request metadata (custom headers; <c>-bin</c> values decoded from base64).</summary>
    public Metadata RequestHeaders => _requestHeaders ??= ParseRequestHeaders();

    /// <summary>Fires when the deadline passes, the client cancels (RST_STREAM) or disconnects, or the
    /// server's shutdown timeout elapses.</summary>
    public CancellationToken CancellationToken => EnsureCancellation().Token;

    /// <summary>Trailers sent with the status.</summary>
    public Metadata ResponseTrailers => _responseTrailers ??= new Metadata();

    /// <summary>The status sent when the handler returns normally. Defaults to OK; throw
    /// <see cref="RpcException"/> to end the call with an error instead.</summary>
    public Status Status { get; set; } = Status.DefaultSuccess;

    /// <summary>The encoding for response messages (<c>identity</c>, <c>gzip</c>, <c>deflate</c>), set
    /// before the first response message or headers. Defaults to the server option, else the request's
    /// encoding. Only used when the client lists it in <c>grpc-accept-encoding</c>.</summary>
    public string? ResponseCompression
    {
        get => _responseCompression ?? _runtime.Options.ResponseCompression ?? RequestEncoding;
        set
        {
            if (_responseStarted)
            {
                throw new InvalidOperationException("Response compression must be chosen before the response headers are sent.");
            }

            if (value is not null && value != GrpcProtocol.IdentityEncoding && GrpcCompression.Find(value) is null)
            {
                throw new ArgumentException($"Unsupported compression '{value}'. Supported: {GrpcCompression.AcceptEncoding}.", nameof(value));
            }

            _responseCompression = value;
        }
    }

    /// <summary>The request's <c>grpc-encoding</c>, null for identity.</summary>
    internal string? RequestEncoding { get; }

    internal bool HasDeadline => _deadlineSignal is not null;

    internal Task DeadlineSignal => _deadlineSignal!.Task;

    internal bool DeadlineExceeded => _deadlineExceeded;

    /// <summary>Token for the framework's own reads: only allocates the call's token source when a
    /// deadline must be able to interrupt them (client resets already fail Kestrel's reads).</summary>
    internal CancellationToken ReadToken => HasDeadline ? CancellationToken : default;

    internal HttpContext HttpContext => _http;

    internal GrpcServerRuntime Runtime => _runtime;

    /// <summary>The underlying ASP.NET Core request, for what this API does not expose.</summary>
    public HttpContext GetHttpContext() => _http;

    /// <summary>Sends the response headers now, with <paramref name="headers"/> as custom metadata.
    /// At most once, before the first response message.</summary>
    public async Task WriteResponseHeadersAsync(Metadata headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var gate = _writeGate;
        if (gate is not null)
        {
            await gate.WaitAsync().ConfigureAwait(false);
        }

        try
        {
            if (_completed)
            {
                throw new InvalidOperationException("Can't write response headers: the call is complete.");
            }

            if (_responseStarted || _http.Response.HasStarted)
            {
                throw new InvalidOperationException("Response headers can only be sent once per call.");
            }

            AppendMetadata(_http.Response.Headers, headers);
            StartResponse();
            await _http.Response.BodyWriter.FlushAsync(FlushToken(default)).ConfigureAwait(false);
        }
        finally
        {
            gate?.Release();
        }
    }

    /// <summary>Parses <c>grpc-timeout</c> and starts the deadline timer. False with the status to send
    /// when the call must end before its handler runs.</summary>
    internal bool TryStart(out Status failure)
    {
        failure = default;
        var timeoutHeader = _http.Request.Headers.GrpcTimeout;
        if (timeoutHeader.Count == 0)
        {
            return true;
        }

        if (!GrpcTimeout.TryParse(timeoutHeader.ToString(), out var timeout))
        {
            failure = new Status(StatusCode.Internal, $"Invalid grpc-timeout header value '{timeoutHeader}'.");
            return false;
        }

        if (timeout <= TimeSpan.Zero)
        {
            _deadlineExceeded = true;
            failure = new Status(StatusCode.DeadlineExceeded, DeadlineExceededDetail);
            return false;
        }

        if (timeout > MaxTimerDelay)
        {
            return true;
        }

        var now = _runtime.TimeProvider.GetUtcNow().UtcDateTime;
        Deadline = now + timeout;
        _deadlineSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _writeGate = new SemaphoreSlim(1, 1);
        _deadlineTimer = _runtime.TimeProvider.CreateTimer(static s => ((ServerCallContext)s!).OnDeadline(), this, timeout, Timeout.InfiniteTimeSpan);
        return true;
    }

    internal ValueTask WriteMessageAsync<T>(T message, Marshaller<T> marshaller, bool flush, CancellationToken cancellationToken)
    {
        if (_writeGate is null)
        {
            WriteMessageCore(message, marshaller);
            return flush ? FlushAsync(cancellationToken) : default;
        }

        return WriteMessageGatedAsync(message, marshaller, flush, cancellationToken);
    }

    private async ValueTask WriteMessageGatedAsync<T>(T message, Marshaller<T> marshaller, bool flush, CancellationToken cancellationToken)
    {
        await _writeGate!.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            WriteMessageCore(message, marshaller);
            if (flush)
            {
                await FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private void WriteMessageCore<T>(T message, Marshaller<T> marshaller)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_completed)
        {
            throw new InvalidOperationException("Can't write the message: the call is complete.");
        }

        if (!_responseStarted)
        {
            StartResponse();
        }

        if (_runtime.Options.MaxSendMessageSize is { } max && marshaller.GetSize(message) > max)
        {
            throw new RpcException(StatusCode.ResourceExhausted,
                $"Sending message exceeds the maximum configured message size ({max} bytes).");
        }

        GrpcMessageWriter.Write(_http.Response.BodyWriter, message, marshaller, _compressor);
    }

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        var result = await _http.Response.BodyWriter.FlushAsync(FlushToken(cancellationToken)).ConfigureAwait(false);
        if (result.IsCanceled)
        {
            throw new OperationCanceledException("The response write was canceled.");
        }
    }

    // A deadline must be able to interrupt a flush blocked on flow control, so the call token is used.
    private CancellationToken FlushToken(CancellationToken requested) =>
        requested.CanBeCanceled ? requested : ReadToken;

    /// <summary>Commits the response headers: chooses the response encoding.</summary>
    private void StartResponse()
    {
        _responseStarted = true;
        var encoding = ResponseCompression;
        if (encoding is null || encoding == GrpcProtocol.IdentityEncoding)
        {
            return;
        }

        var provider = GrpcCompression.Find(encoding);
        if (provider is not null
            && GrpcCompression.Accepts(_http.Request.Headers.GrpcAcceptEncoding.ToString(), encoding))
        {
            _compressor = provider;
            _http.Response.Headers.GrpcEncoding = provider.EncodingName;
        }
    }

    /// <summary>Sends the status: in the trailers, or in the headers (Trailers-Only) when nothing was sent yet.</summary>
    internal void Complete(Status status, Metadata? extraTrailers)
    {
        _completed = true;
        _deadlineTimer?.Dispose();
        var response = _http.Response;
        IHeaderDictionary target;
        if (!_responseStarted && !response.HasStarted)
        {
            target = response.Headers;
        }
        else
        {
            target = _http.Features.Get<IHttpResponseTrailersFeature>()?.Trailers
                ?? throw new InvalidOperationException("The transport does not support response trailers.");
        }

        target.GrpcStatus = GrpcServerRuntime.StatusString(status.StatusCode);
        if (!string.IsNullOrEmpty(status.Detail))
        {
            target.GrpcMessage = GrpcPercentEncoding.Encode(status.Detail);
        }

        if (_responseTrailers is { Count: > 0 })
        {
            AppendMetadata(target, _responseTrailers);
        }

        if (extraTrailers is { Count: > 0 })
        {
            AppendMetadata(target, extraTrailers);
        }
    }

    /// <summary>Ends the call with DEADLINE_EXCEEDED while its handler may still run, and pushes the
    /// status to the client at once.</summary>
    internal async Task CompleteOnDeadlineAsync()
    {
        await _writeGate!.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_completed)
            {
                return;
            }

            Complete(new Status(StatusCode.DeadlineExceeded, DeadlineExceededDetail), null);
        }
        finally
        {
            _writeGate.Release();
        }

        await _http.Response.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>The status a handler's exception ends the call with.</summary>
    internal (Status Status, Metadata? Trailers) StatusFromException(Exception exception)
    {
        if (_deadlineExceeded)
        {
            return (new Status(StatusCode.DeadlineExceeded, DeadlineExceededDetail), null);
        }

        if (exception is RpcException rpc)
        {
            return (rpc.Status, rpc.Trailers);
        }

        if (exception is OperationCanceledException or IOException or ConnectionAbortedException)
        {
            if (_http.RequestAborted.IsCancellationRequested)
            {
                return (new Status(StatusCode.Cancelled, ClientCancelledDetail), null);
            }

            if (_runtime.ShutdownToken.IsCancellationRequested)
            {
                return (new Status(StatusCode.Unavailable, ShuttingDownDetail), null);
            }
        }

        GrpcServerLog.HandlerError(_runtime.Logger, Method, exception);
        var detail = _runtime.Options.EnableDetailedErrors
            ? $"{GenericHandlerError} {exception.GetType().Name}: {exception.Message}"
            : GenericHandlerError;
        return (new Status(StatusCode.Unknown, detail), null);
    }

    internal void Release()
    {
        _deadlineTimer?.Dispose();
        _abortedRegistration.Dispose();
        _shutdownRegistration.Dispose();
    }

    private void OnDeadline()
    {
        // The flag is set before cancelling so a handler that observes the token maps to DEADLINE_EXCEEDED.
        _deadlineExceeded = true;
        GrpcServerLog.DeadlineExceeded(_runtime.Logger, Method);
        CancelQuietly(Volatile.Read(ref _cts));
        _deadlineSignal!.TrySetResult();
    }

    private CancellationTokenSource EnsureCancellation()
    {
        var cts = Volatile.Read(ref _cts);
        if (cts is not null)
        {
            return cts;
        }

        cts = new CancellationTokenSource();
        var existing = Interlocked.CompareExchange(ref _cts, cts, null);
        if (existing is not null)
        {
            return existing;
        }

        _abortedRegistration = _http.RequestAborted.UnsafeRegister(static s => CancelQuietly((CancellationTokenSource)s!), cts);
        _shutdownRegistration = _runtime.ShutdownToken.UnsafeRegister(static s => CancelQuietly((CancellationTokenSource)s!), cts);
        if (_deadlineExceeded)
        {
            CancelQuietly(cts);
        }

        return cts;
    }

    private static void CancelQuietly(CancellationTokenSource? cts)
    {
        if (cts is null)
        {
            return;
        }

        try
        {
            cts.Cancel();
        }
        catch (AggregateException)
        {
            // A handler's own callback threw; the call still ends through its handler task.
        }
    }

    private Metadata ParseRequestHeaders()
    {
        var metadata = new Metadata();
        foreach (var header in _http.Request.Headers)
        {
            var key = header.Key;
            if (GrpcProtocol.IsReservedHeader(key))
            {
                continue;
            }

            foreach (var value in header.Value)
            {
                if (value is null)
                {
                    continue;
                }

                try
                {
                    if (Metadata.Entry.IsBinaryKey(key))
                    {
                        // Several binary values of one key may arrive joined by commas.
                        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries))
                        {
                            metadata.Add(key, DecodeBase64(part));
                        }
                    }
                    else
                    {
                        metadata.Add(key, value);
                    }
                }
                catch (Exception ex) when (ex is ArgumentException or FormatException)
                {
                    GrpcServerLog.MetadataIgnored(_runtime.Logger, key, ex.Message);
                }
            }
        }

        return metadata;
    }

    /// <summary>Decodes base64 with or without padding, as the protocol requires.</summary>
    internal static byte[] DecodeBase64(string value)
    {
        var remainder = value.Length % 4;
        if (remainder == 1)
        {
            throw new FormatException("Invalid base64 length.");
        }

        return Convert.FromBase64String(remainder == 0 ? value : value + new string('=', 4 - remainder));
    }

    /// <summary>Encodes base64 without padding, as the protocol recommends senders do.</summary>
    internal static string EncodeBase64(byte[] value) => Convert.ToBase64String(value).TrimEnd('=');

    internal static void AppendMetadata(IHeaderDictionary target, Metadata metadata)
    {
        foreach (var entry in metadata)
        {
            // Reserved names (grpc-status, content-type, ...) are the protocol's, never the application's.
            if (GrpcProtocol.IsReservedHeader(entry.Key))
            {
                continue;
            }

            target.Append(entry.Key, entry.IsBinary ? EncodeBase64(entry.ValueBytes) : entry.Value);
        }
    }
}
