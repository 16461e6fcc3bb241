namespace ControlPlane.Grpc.Client;

/// <summary>Starts calls of the four gRPC shapes on a <see cref="GrpcChannel"/>, described by
/// <see cref="Method{TRequest, TResponse}"/> descriptors. Thread-safe and stateless.</summary>
public sealed class CallInvoker
{
    private readonly GrpcChannel _channel;

    /// <summary>Creates an invoker over <paramref name="channel"/> (see also <see cref="GrpcChannel.CreateCallInvoker"/>).</summary>
    public CallInvoker(GrpcChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _channel = channel;
    }

    /// <summary>Makes a unary call and returns its response: the lean path when headers and trailers are not needed.</summary>
    /// <exception cref="RpcException">The call ended with a non-OK status.</exception>
    public Task<TResponse> UnaryAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TResponse : class
    {
        return Create(method, MethodType.Unary, options).UnaryAsync(request);
    }

    /// <summary>Starts a unary call whose headers, status and trailers stay readable.</summary>
    public AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TResponse : class
    {
        var call = Create(method, MethodType.Unary, options);
        call.StartWithRequest(request);
        return new AsyncUnaryCall<TResponse>(Observed(call.ReadSingleResponseAsync()), call);
    }

    /// <summary>Starts a server-streaming call.</summary>
    public AsyncServerStreamingCall<TResponse> ServerStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TResponse : class
    {
        var call = Create(method, MethodType.ServerStreaming, options);
        call.StartWithRequest(request);
        return new AsyncServerStreamingCall<TResponse>(call, call);
    }

    /// <summary>Starts a client-streaming call.</summary>
    public AsyncClientStreamingCall<TRequest, TResponse> ClientStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options = default)
        where TResponse : class
    {
        var call = Create(method, MethodType.ClientStreaming, options);
        call.StartWithRequestStream();
        var response = Observed(call.ReadSingleResponseAsync());
        return new AsyncClientStreamingCall<TRequest, TResponse>(call, response, call);
    }

    /// <summary>Starts a bidirectional-streaming call.</summary>
    public AsyncDuplexStreamingCall<TRequest, TResponse> DuplexStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options = default)
        where TResponse : class
    {
        var call = Create(method, MethodType.DuplexStreaming, options);
        call.StartWithRequestStream();
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(call, call, call);
    }

    // The response task runs from the start; a caller that disposes the call without awaiting it must not
    // leave an unobserved faulted task behind.
    private static Task<T> Observed<T>(Task<T> task)
    {
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    private GrpcCall<TRequest, TResponse> Create<TRequest, TResponse>(Method<TRequest, TResponse> method, MethodType expected, CallOptions options)
        where TResponse : class
    {
        ArgumentNullException.ThrowIfNull(method);
        if (method.Type != expected)
        {
            throw new ArgumentException($"Method {method.FullName} is {method.Type}, not {expected}.", nameof(method));
        }

        return new GrpcCall<TRequest, TResponse>(_channel, method, options);
    }
}
