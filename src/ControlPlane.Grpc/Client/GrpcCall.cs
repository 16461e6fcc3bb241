using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;

namespace ControlPlane.Grpc.Client;

/// <summary>What the public call objects need from a running call, whatever its message types.</summary>
internal interface IGrpcCallState : IDisposable
{
    Task<Metadata> ResponseHeadersAsync();

    Status GetStatus();

    Metadata GetTrailers();
}

/// <summary>One gRPC call over one HTTP/2 stream: sends the request, reads response frames, and settles the
/// final status exactly once (from trailers, a Trailers-Only response, a bad response, a local framing error,
/// the deadline or cancellation).</summary>
internal sealed class GrpcCall<TRequest, TResponse> : IGrpcCallState, IAsyncStreamReader<TResponse>, IClientStreamWriter<TRequest>
    where TResponse : class
{
    private static readonly StreamPipeReaderOptions PipeOptions = new(leaveOpen: true);
    private static readonly Status CancelledStatus = new(StatusCode.Cancelled, "Call cancelled by the client.");
    private static readonly Status DeadlineStatus = new(StatusCode.DeadlineExceeded, "Deadline exceeded.");

    private readonly GrpcChannel _channel;
    private readonly Method<TRequest, TResponse> _method;
    private readonly CallOptions _options;
    private readonly ICompressionProvider? _compressor;
    private readonly object _gate = new();

    private CancellationTokenSource? _cts;
    private CancellationTokenRegistration _userRegistration;
    private ITimer? _deadlineTimer;
    private volatile bool _deadlineExceeded;
    private CancellationToken _token;
    private HttpRequestMessage? _request;
    private Task<HttpResponseMessage> _headersTask = null!;
    private Task<Metadata>? _responseHeaders;
    private HttpResponseMessage? _response;
    private Stream? _responseStream;
    private PipeReader? _pipe;
    private GrpcMessageReader? _reader;
    private int _reading;
    private StreamingRequestContent? _requestContent;
    private ArrayBufferWriter<byte>? _writeBuffer;
    private int _writing;
    private bool _requestCompleted;
    private Status? _status;
    private Metadata? _trailers;
    private HttpHeaders? _trailerSource;

    public GrpcCall(GrpcChannel channel, Method<TRequest, TResponse> method, CallOptions options)
    {
        _channel = channel;
        _method = method;
        _options = options;
        _compressor = options.RequestCompression switch
        {
            null => channel.RequestCompression,
            GrpcProtocol.IdentityEncoding => null,
            var name => GrpcCompression.Find(name)
                ?? throw new ArgumentException($"Unsupported request compression '{name}'. Supported: {GrpcCompression.AcceptEncoding}.", nameof(options)),
        };
    }

    public TResponse Current { get; private set; } = null!;

    private bool SingleResponse => _method.Type is MethodType.Unary or MethodType.ClientStreaming;

    /// <summary>Starts a call whose request is one message (unary, server streaming).</summary>
    public void StartWithRequest(TRequest request) => StartWithRequest(request, sendNow: true);

    /// <summary>The lean unary path: one state machine sends, reads the single message and the trailers.
    /// No response-headers task: this path exposes only the response (or the status as an exception).</summary>
    public async Task<TResponse> UnaryAsync(TRequest request)
    {
        try
        {
            StartWithRequest(request, sendNow: false);
            if (_status is { } early)
            {
                throw new RpcException(early, Trailers);
            }

            HttpResponseMessage response;
            try
            {
                response = await _channel.Http.SendAsync(_request!, _token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                throw FailFrom(ex);
            }

            _response = response;
            if (GrpcResponseHeaders.StatusFromHeaders(response) is { } headerStatus)
            {
                if (headerStatus.StatusCode == StatusCode.OK)
                {
                    headerStatus = new Status(StatusCode.Internal, "Bad gRPC response. A Trailers-Only response with status OK has no response message.");
                }

                Finish(headerStatus, null, response.Headers);
                throw new RpcException(headerStatus, Trailers);
            }

            TResponse? message;
            try
            {
                _responseStream = await response.Content.ReadAsStreamAsync(_token).ConfigureAwait(false);
                _pipe = PipeReader.Create(_responseStream, PipeOptions);
                var reader = new GrpcMessageReader(_pipe, _channel.MaxReceiveMessageSize, GrpcResponseHeaders.Encoding(response));
                message = await reader.ReadAsync(_method.ResponseMarshaller, _token).ConfigureAwait(false);
                if (message is not null && await reader.ReadAsync(_method.ResponseMarshaller, _token).ConfigureAwait(false) is not null)
                {
                    throw new RpcException(StatusCode.Internal, "Bad gRPC response. More than one response message for a single-response call.");
                }
            }
            catch (RpcException ex) when (_status is null)
            {
                throw Abort(ex.Status);
            }
            catch (Exception ex) when (ex is not RpcException)
            {
                throw FailFrom(ex);
            }

            var status = GrpcResponseHeaders.StatusFromTrailers(response);
            if (status.StatusCode == StatusCode.OK && message is null)
            {
                status = new Status(StatusCode.Internal, "Bad gRPC response. The call ended with status OK but no response message.");
            }

            Finish(status, null, response.TrailingHeaders);
            return status.StatusCode == StatusCode.OK ? message! : throw new RpcException(status, Trailers);
        }
        finally
        {
            Dispose();
        }
    }

    private void StartWithRequest(TRequest request, bool sendNow)
    {
        byte[] frame;
        try
        {
            frame = Frame(request);
        }
        catch (RpcException ex)
        {
            FinishBeforeSending(ex.Status);
            return;
        }

        Start(new UnaryRequestContent(frame), sendNow);
    }

    /// <summary>Starts a call whose requests are pushed through <see cref="WriteAsync"/>.</summary>
    public void StartWithRequestStream()
    {
        _requestContent = new StreamingRequestContent();
        _writeBuffer = new ArrayBufferWriter<byte>(256);
        Start(_requestContent, sendNow: true);
    }

    private void Start(HttpContent content, bool sendNow)
    {
        TimeSpan? timeout = null;
        if (_options.Deadline is { } deadline && deadline != DateTime.MaxValue)
        {
            var utc = deadline.Kind == DateTimeKind.Local ? deadline.ToUniversalTime() : deadline;
            var remaining = utc - _channel.TimeProvider.GetUtcNow().UtcDateTime;
            if (remaining <= TimeSpan.Zero)
            {
                content.Dispose();
                _deadlineExceeded = true;
                FinishBeforeSending(DeadlineStatus);
                return;
            }

            timeout = remaining;
        }

        var request = new HttpRequestMessage(HttpMethod.Post, _channel.GetMethodUri(_method.FullName))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = request.Headers;
        headers.TryAddWithoutValidation(GrpcProtocol.TeHeader, "trailers");
        headers.TryAddWithoutValidation("user-agent", _channel.UserAgent);
        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcCompression.AcceptEncoding);
        if (_compressor is not null)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.EncodingHeader, _compressor.EncodingName);
        }

        if (timeout is { } t)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(t));
        }

        if (_options.Headers is { } metadata)
        {
            for (var i = 0; i < metadata.Count; i++)
            {
                var entry = metadata[i];
                // Reserved names belong to the protocol; letting a caller override them would corrupt the call.
                if (!GrpcProtocol.IsReservedHeader(entry.Key))
                {
                    headers.TryAddWithoutValidation(entry.Key, entry.Value);
                }
            }
        }

        content.Headers.TryAddWithoutValidation("Content-Type", GrpcProtocol.ContentType);
        _request = request;

        // A plain unary call needs no token source of its own: the caller's token (if any) goes straight
        // to HttpClient. Deadlines and streaming calls (which Dispose must be able to abort) get one.
        var userToken = _options.CancellationToken;
        if (timeout is not null || _method.Type != MethodType.Unary)
        {
            _cts = new CancellationTokenSource();
            if (userToken.CanBeCanceled)
            {
                _userRegistration = userToken.UnsafeRegister(static s => ((GrpcCall<TRequest, TResponse>)s!).Cancel(), this);
            }

            if (timeout is { } due)
            {
                _deadlineTimer = _channel.TimeProvider.CreateTimer(
                    static s => ((GrpcCall<TRequest, TResponse>)s!).OnDeadline(), this, due, Timeout.InfiniteTimeSpan);
            }

            _token = _cts.Token;
        }
        else
        {
            _token = userToken;
        }

        if (sendNow)
        {
            _headersTask = ReceiveHeadersAsync(request);
        }
    }

    private async Task<HttpResponseMessage> ReceiveHeadersAsync(HttpRequestMessage request)
    {
        HttpResponseMessage response;
        try
        {
            response = await _channel.Http.SendAsync(request, _token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw FailFrom(ex);
        }

        _response = response;
        if (_status is { } settled)
        {
            // Aborted while the headers were on their way.
            response.Dispose();
            throw new RpcException(settled, Trailers);
        }

        if (GrpcResponseHeaders.StatusFromHeaders(response) is { } status)
        {
            if (status.StatusCode == StatusCode.OK && SingleResponse)
            {
                status = new Status(StatusCode.Internal, "Bad gRPC response. A Trailers-Only response with status OK has no response message.");
            }

            Finish(status, null, response.Headers);
            response.Dispose(); // headers stay readable; nothing more comes on this stream
            if (status.StatusCode != StatusCode.OK)
            {
                throw new RpcException(status, Trailers);
            }
        }

        return response;
    }

    /// <summary>Reads the single response of a unary or client-streaming call.</summary>
    public async Task<TResponse> ReadSingleResponseAsync()
    {
        if (!await ReadNextAsync(CancellationToken.None).ConfigureAwait(false))
        {
            // ReadNextAsync turns "OK without a message" into INTERNAL for single-response calls.
            throw new RpcException(GetStatus(), GetTrailers());
        }

        var message = Current;
        if (await ReadNextAsync(CancellationToken.None).ConfigureAwait(false))
        {
            throw Abort(new Status(StatusCode.Internal, "Bad gRPC response. More than one response message for a single-response call."));
        }

        return message;
    }

    /// <inheritdoc />
    public Task<bool> MoveNext(CancellationToken cancellationToken) => ReadNextAsync(cancellationToken).AsTask();

    // Pooled: a unary call reads twice (message, then trailers) and streams read per message.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReadNextAsync(CancellationToken cancellationToken)
    {
        if (_status is { } done)
        {
            return Ended(done);
        }

        if (Interlocked.Exchange(ref _reading, 1) == 1)
        {
            throw new InvalidOperationException("A previous read is still in progress; await each MoveNext before the next.");
        }

        CancellationTokenRegistration registration = default;
        try
        {
            if (cancellationToken.CanBeCanceled)
            {
                registration = cancellationToken.UnsafeRegister(static s => ((GrpcCall<TRequest, TResponse>)s!).Cancel(), this);
            }

            var response = await _headersTask.ConfigureAwait(false);
            if (_status is { } trailersOnly)
            {
                return Ended(trailersOnly);
            }

            if (_reader is null)
            {
                _responseStream = await response.Content.ReadAsStreamAsync(_token).ConfigureAwait(false);
                _pipe = PipeReader.Create(_responseStream, PipeOptions);
                _reader = new GrpcMessageReader(_pipe, _channel.MaxReceiveMessageSize, GrpcResponseHeaders.Encoding(response));
            }

            var message = await _reader.ReadAsync(_method.ResponseMarshaller, _token).ConfigureAwait(false);

            if (message is not null)
            {
                Current = message;
                return true;
            }

            var status = GrpcResponseHeaders.StatusFromTrailers(response);
            if (status.StatusCode == StatusCode.OK && SingleResponse && _reader.MessagesRead == 0)
            {
                status = new Status(StatusCode.Internal, "Bad gRPC response. The call ended with status OK but no response message.");
            }

            // Trailers become Metadata only if someone asks (GetTrailers, or a non-OK status).
            Finish(status, null, response.TrailingHeaders);
            ReleaseReader();
            response.Dispose(); // a call object the caller never disposes keeps nothing of the stream
            return Ended(status);
        }
        catch (RpcException ex) when (_status is null)
        {
            // Framing, size or parse errors found here: the server must stop sending (RST_STREAM).
            ReleaseReader();
            throw Abort(ex.Status);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            ReleaseReader();
            throw FailFrom(ex);
        }
        finally
        {
            registration.Dispose();
            Volatile.Write(ref _reading, 0);
        }
    }

    /// <inheritdoc />
    public async Task WriteAsync(TRequest message, CancellationToken cancellationToken = default)
    {
        if (_requestContent is null || _writeBuffer is null)
        {
            throw new InvalidOperationException("This call has no request stream.");
        }

        if (_requestCompleted)
        {
            throw new InvalidOperationException("The request stream has already been completed.");
        }

        if (Interlocked.Exchange(ref _writing, 1) == 1)
        {
            throw new InvalidOperationException("A previous write is still in progress; await each WriteAsync before the next.");
        }

        CancellationTokenRegistration registration = default;
        try
        {
            if (_status is { } done)
            {
                throw AfterEnd(done);
            }

            WriteFrame(_writeBuffer, message);
            if (cancellationToken.CanBeCanceled)
            {
                registration = cancellationToken.UnsafeRegister(static s => ((GrpcCall<TRequest, TResponse>)s!).Cancel(), this);
            }

            var stream = await _requestContent.RequestStream.ConfigureAwait(false);
            await stream.WriteAsync(_writeBuffer.WrittenMemory, _token).ConfigureAwait(false);
            await stream.FlushAsync(_token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not RpcException and not InvalidOperationException)
        {
            throw _status is { } done ? AfterEnd(done) : FailFrom(ex);
        }
        catch (RpcException ex) when (_status is null && ex.StatusCode == StatusCode.ResourceExhausted)
        {
            // An oversized request ends the call, as it would had the server rejected it.
            throw Abort(ex.Status);
        }
        finally
        {
            registration.Dispose();
            _writeBuffer.ResetWrittenCount();
            Volatile.Write(ref _writing, 0);
        }
    }

    /// <inheritdoc />
    public Task CompleteAsync()
    {
        if (_requestContent is null)
        {
            throw new InvalidOperationException("This call has no request stream.");
        }

        if (Volatile.Read(ref _writing) == 1)
        {
            throw new InvalidOperationException("Cannot complete the request stream while a write is in progress.");
        }

        _requestCompleted = true;
        _requestContent.Complete();
        return Task.CompletedTask;
    }

    public Task<Metadata> ResponseHeadersAsync() => _responseHeaders ??= ReadResponseHeadersAsync();

    private async Task<Metadata> ReadResponseHeadersAsync()
    {
        var response = await _headersTask.ConfigureAwait(false);
        return GrpcResponseHeaders.ToMetadata(response.Headers);
    }

    public Status GetStatus() => _status ?? throw new InvalidOperationException("The call has not completed yet.");

    public Metadata GetTrailers() =>
        _status is null ? throw new InvalidOperationException("The call has not completed yet.") : Trailers;

    private Metadata Trailers
    {
        get
        {
            lock (_gate)
            {
                return _trailers ??= _trailerSource is { } source ? GrpcResponseHeaders.ToMetadata(source) : new Metadata();
            }
        }
    }

    public void Dispose()
    {
        if (_status is null)
        {
            Abort(new Status(StatusCode.Cancelled, "The call was disposed before it completed."));
        }

        if (Volatile.Read(ref _reading) == 0)
        {
            ReleaseReader();
        }

        _response?.Dispose();
        _request?.Dispose();
        _cts?.Dispose();
    }

    private byte[] Frame(TRequest message)
    {
        var marshaller = _method.RequestMarshaller;
        if (_compressor is null)
        {
            var size = marshaller.GetSize(message);
            CheckSendSize(size);
            var frame = new byte[GrpcProtocol.MessageHeaderSize + size];
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)size);
            marshaller.Write(message, frame.AsSpan(GrpcProtocol.MessageHeaderSize));
            return frame;
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        WriteFrame(buffer, message);
        return buffer.WrittenSpan.ToArray();
    }

    private void WriteFrame(IBufferWriter<byte> writer, TRequest message)
    {
        if (_channel.MaxSendMessageSize != int.MaxValue)
        {
            CheckSendSize(_method.RequestMarshaller.GetSize(message));
        }

        GrpcMessageWriter.Write(writer, message, _method.RequestMarshaller, _compressor);
    }

    private void CheckSendSize(int size)
    {
        if (size > _channel.MaxSendMessageSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted,
                $"Sending message exceeds the maximum configured message size ({size} vs. {_channel.MaxSendMessageSize} bytes).");
        }
    }

    private bool Ended(Status status) =>
        status.StatusCode == StatusCode.OK ? false : throw new RpcException(status, Trailers);

    private RpcException AfterEnd(Status status) =>
        status.StatusCode == StatusCode.OK
            ? throw new InvalidOperationException("The call has already completed; the request stream is closed.")
            : new RpcException(status, Trailers);

    /// <summary>Settles the status after the HTTP stack threw: the deadline, the caller's cancellation,
    /// a status settled meanwhile, or the transport failure itself.</summary>
    private RpcException FailFrom(Exception exception)
    {
        Status status;
        if (_deadlineExceeded)
        {
            status = DeadlineStatus;
        }
        else if (_options.CancellationToken.IsCancellationRequested || exception is OperationCanceledException)
        {
            status = CancelledStatus;
        }
        else if (exception is RpcException rpc)
        {
            status = rpc.Status;
        }
        else
        {
            status = GrpcResponseHeaders.FromTransportException(exception);
        }

        return Abort(status);
    }

    private void FinishBeforeSending(Status status)
    {
        Finish(status, null, null);
        _headersTask = Task.FromException<HttpResponseMessage>(new RpcException(status));
        _ = _headersTask.Exception; // observed: every reader checks the settled status first
    }

    /// <summary>Records the final status (first one wins) and releases what the call no longer needs.</summary>
    private bool Finish(Status status, Metadata? trailers, HttpHeaders? trailerSource)
    {
        lock (_gate)
        {
            if (_status is not null)
            {
                return false;
            }

            _trailers = trailers;
            _trailerSource = trailerSource;
            _status = status;
        }

        _deadlineTimer?.Dispose();
        _userRegistration.Dispose();
        _requestContent?.Abort();
        return true;
    }

    /// <summary>Ends the call with <paramref name="status"/> (unless it already ended) and resets the HTTP/2
    /// stream; returns the exception for the status the call ended with.</summary>
    private RpcException Abort(Status status)
    {
        if (Finish(status, null, null))
        {
            CancelToken();
            _response?.Dispose();
        }

        return new RpcException(_status!.Value, Trailers);
    }

    private void Cancel() => Abort(_deadlineExceeded ? DeadlineStatus : CancelledStatus);

    private void CancelToken()
    {
        try
        {
            _cts?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed by a concurrent Dispose: the call is over either way.
        }
    }

    private void OnDeadline()
    {
        _deadlineExceeded = true;
        Abort(DeadlineStatus);
    }

    private void ReleaseReader()
    {
        var pipe = Interlocked.Exchange(ref _pipe, null);
        pipe?.Complete();
        _responseStream?.Dispose();
    }
}
