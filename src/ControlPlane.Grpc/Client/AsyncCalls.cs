using System.Runtime.CompilerServices;

namespace ControlPlane.Grpc.Client;

/// <summary>What every call in flight offers: its response headers, final status and trailers, and early release.</summary>
public abstract class AsyncCall : IDisposable
{
    private readonly IGrpcCallState _state;

    private protected AsyncCall(IGrpcCallState state) => _state = state;

    /// <summary>The response headers (user metadata) once they arrive.</summary>
    public Task<Metadata> ResponseHeadersAsync => _state.ResponseHeadersAsync();

    /// <summary>The final status; throws <see cref="InvalidOperationException"/> before the call completes.</summary>
    public Status GetStatus() => _state.GetStatus();

    /// <summary>The response trailers; throws <see cref="InvalidOperationException"/> before the call completes.</summary>
    public Metadata GetTrailers() => _state.GetTrailers();

    /// <summary>Cancels the call (RST_STREAM) if it is still running and releases its resources.</summary>
    public void Dispose()
    {
        _state.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A unary call in flight. Await it (or <see cref="ResponseAsync"/>) for the response; dispose it
/// to release the HTTP/2 stream early.</summary>
public sealed class AsyncUnaryCall<TResponse> : AsyncCall
{
    internal AsyncUnaryCall(Task<TResponse> response, IGrpcCallState state)
        : base(state) => ResponseAsync = response;

    /// <summary>The response; faults with <see cref="RpcException"/> on a non-OK status.</summary>
    public Task<TResponse> ResponseAsync { get; }

    /// <summary>Awaits <see cref="ResponseAsync"/>.</summary>
    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();
}

/// <summary>A server-streaming call in flight: read <see cref="ResponseStream"/> to its end.</summary>
public sealed class AsyncServerStreamingCall<TResponse> : AsyncCall
{
    internal AsyncServerStreamingCall(IAsyncStreamReader<TResponse> responseStream, IGrpcCallState state)
        : base(state) => ResponseStream = responseStream;

    /// <summary>The response messages; <c>MoveNext</c> throws <see cref="RpcException"/> on a non-OK status.</summary>
    public IAsyncStreamReader<TResponse> ResponseStream { get; }
}

/// <summary>A client-streaming call in flight: write to <see cref="RequestStream"/>, complete it, then await
/// <see cref="ResponseAsync"/>.</summary>
public sealed class AsyncClientStreamingCall<TRequest, TResponse> : AsyncCall
{
    internal AsyncClientStreamingCall(IClientStreamWriter<TRequest> requestStream, Task<TResponse> response, IGrpcCallState state)
        : base(state)
    {
        RequestStream = requestStream;
        ResponseAsync = response;
    }

    /// <summary>The request messages. Await each write; writes after the call ended throw the call's status.</summary>
    public IClientStreamWriter<TRequest> RequestStream { get; }

    /// <summary>The response; faults with <see cref="RpcException"/> on a non-OK status.</summary>
    public Task<TResponse> ResponseAsync { get; }

    /// <summary>Awaits <see cref="ResponseAsync"/>.</summary>
    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();
}

/// <summary>A bidirectional-streaming call in flight: write and read concurrently.</summary>
public sealed class AsyncDuplexStreamingCall<TRequest, TResponse> : AsyncCall
{
    internal AsyncDuplexStreamingCall(IClientStreamWriter<TRequest> requestStream, IAsyncStreamReader<TResponse> responseStream, IGrpcCallState state)
        : base(state)
    {
        RequestStream = requestStream;
        ResponseStream = responseStream;
    }

    /// <summary>The request messages. Await each write; writes after the call ended throw the call's status.</summary>
    public IClientStreamWriter<TRequest> RequestStream { get; }

    /// <summary>The response messages; <c>MoveNext</c> throws <see cref="RpcException"/> on a non-OK status.</summary>
    public IAsyncStreamReader<TResponse> ResponseStream { get; }
}
