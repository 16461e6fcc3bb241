using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ControlPlane.Grpc.Server;

/// <summary>Runs calls of one method: checks the request, races the handler against the deadline
/// and sends the status. Subclasses read requests and invoke the handler for one call shape.</summary>
internal abstract class ServerMethodHandler
{
    protected ServerMethodHandler(string path, MethodType type)
    {
        Path = path;
        Type = type;
    }

    public string Path { get; }

    public MethodType Type { get; }

    public async Task HandleCallAsync(HttpContext http, GrpcServerRuntime runtime)
    {
        if (runtime.Reject(http) is { } rejection)
        {
            await rejection.ConfigureAwait(false);
            return;
        }

        // A gRPC body is a stream of messages, each bounded by MaxReceiveMessageSize: Kestrel's
        // whole-body limit (30 MB by default) would cut long-lived streams.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = null;
        }

        var context = new ServerCallContext(http, runtime, Path);
        try
        {
            if (!context.TryStart(out var failure))
            {
                GrpcServerLog.CallFailed(runtime.Logger, Path, failure.StatusCode, failure.Detail);
                context.Complete(failure, null);
                return;
            }

            var run = RunAsync(context);
            if (context.HasDeadline && !run.IsCompleted)
            {
                var first = await Task.WhenAny(run, context.DeadlineSignal).ConfigureAwait(false);
                if (first != run)
                {
                    // The client gets DEADLINE_EXCEEDED on time even if the handler ignores its token;
                    // the request stays ours until the handler returns (Kestrel reuses HttpContext).
                    try
                    {
                        await context.CompleteOnDeadlineAsync().ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
                    {
                        // The client went away at the same moment: there is no one left to tell.
                        GrpcServerLog.HandlerFailedAfterEnd(runtime.Logger, Path, ex);
                    }

                    try
                    {
                        await run.ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        GrpcServerLog.HandlerFailedAfterEnd(runtime.Logger, Path, ex);
                    }

                    return;
                }
            }

            await run.ConfigureAwait(false);
            context.Complete(context.DeadlineExceeded ? new Status(StatusCode.DeadlineExceeded, ServerCallContext.DeadlineExceededDetail) : context.Status, null);
        }
        catch (Exception ex)
        {
            var (status, trailers) = context.StatusFromException(ex);
            GrpcServerLog.CallFailed(runtime.Logger, Path, status.StatusCode, status.Detail);
            context.Complete(status, trailers);
        }
        finally
        {
            context.Release();
        }
    }

    /// <summary>Reads the request(s), invokes the handler and writes the response message(s).</summary>
    protected abstract Task RunAsync(ServerCallContext context);

    protected static GrpcMessageReader CreateReader(ServerCallContext context) =>
        new(context.HttpContext.Request.BodyReader, context.Runtime.Options.MaxReceiveMessageSize, context.RequestEncoding);

    /// <summary>Reads the single request of a unary or server-streaming call, waiting for the client's
    /// half-close; zero or several messages end the call with INTERNAL, as grpc-java does.</summary>
    protected static ValueTask<TRequest> ReadSingleRequestAsync<TRequest>(ServerCallContext context, Marshaller<TRequest> marshaller)
        where TRequest : class
        => CreateReader(context).ReadSingleAsync(marshaller, context.ReadToken);
}

internal sealed class UnaryMethodHandler<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse> handler)
    : ServerMethodHandler(method.FullName, MethodType.Unary)
    where TRequest : class
    where TResponse : class
{
    protected override async Task RunAsync(ServerCallContext context)
    {
        var request = await ReadSingleRequestAsync(context, method.RequestMarshaller).ConfigureAwait(false);
        var response = await handler(request, context).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Handler of {method.FullName} returned no response message.");
        await context.WriteMessageAsync(response, method.ResponseMarshaller, flush: false, default).ConfigureAwait(false);
    }
}

internal sealed class ServerStreamingMethodHandler<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse> handler)
    : ServerMethodHandler(method.FullName, MethodType.ServerStreaming)
    where TRequest : class
    where TResponse : class
{
    protected override async Task RunAsync(ServerCallContext context)
    {
        var request = await ReadSingleRequestAsync(context, method.RequestMarshaller).ConfigureAwait(false);
        await handler(request, new ServerResponseStream<TResponse>(context, method.ResponseMarshaller), context).ConfigureAwait(false);
    }
}

internal sealed class ClientStreamingMethodHandler<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse> handler)
    : ServerMethodHandler(method.FullName, MethodType.ClientStreaming)
    where TRequest : class
    where TResponse : class
{
    protected override async Task RunAsync(ServerCallContext context)
    {
        var requests = new ServerRequestStream<TRequest>(context, CreateReader(context), method.RequestMarshaller);
        var response = await handler(requests, context).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Handler of {method.FullName} returned no response message.");
        await context.WriteMessageAsync(response, method.ResponseMarshaller, flush: false, default).ConfigureAwait(false);
    }
}

internal sealed class DuplexStreamingMethodHandler<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse> handler)
    : ServerMethodHandler(method.FullName, MethodType.DuplexStreaming)
    where TRequest : class
    where TResponse : class
{
    protected override Task RunAsync(ServerCallContext context) =>
        handler(
            new ServerRequestStream<TRequest>(context, CreateReader(context), method.RequestMarshaller),
            new ServerResponseStream<TResponse>(context, method.ResponseMarshaller),
            context);
}

/// <summary>The request stream of a client- or duplex-streaming call.</summary>
internal sealed class ServerRequestStream<T>(ServerCallContext context, GrpcMessageReader reader, Marshaller<T> marshaller) : IAsyncStreamReader<T>
    where T : class
{
    private T? _current;

    public T Current => _current ?? throw new InvalidOperationException("No current message: call MoveNext first.");

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        var token = cancellationToken.CanBeCanceled ? cancellationToken : context.CancellationToken;
        if (cancellationToken.CanBeCanceled && cancellationToken != context.CancellationToken)
        {
            // The read must also stop at the call's deadline, cancellation or shutdown.
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.CancellationToken);
            _current = await reader.ReadAsync(marshaller, linked.Token).ConfigureAwait(false);
        }
        else
        {
            _current = await reader.ReadAsync(marshaller, token).ConfigureAwait(false);
        }

        return _current is not null;
    }
}

/// <summary>The response stream of a server- or duplex-streaming call: each write is flushed.</summary>
internal sealed class ServerResponseStream<T>(ServerCallContext context, Marshaller<T> marshaller) : IServerStreamWriter<T>
{
    public Task WriteAsync(T message, CancellationToken cancellationToken = default) =>
        context.WriteMessageAsync(message, marshaller, flush: true, cancellationToken).AsTask();
}
