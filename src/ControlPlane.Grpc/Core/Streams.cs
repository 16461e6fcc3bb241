namespace ControlPlane.Grpc;

/// <summary>A stream of messages read one at a time (request stream on the server, response
/// stream on the client).</summary>
/// <typeparam name="T">Message type.</typeparam>
public interface IAsyncStreamReader<out T>
{
    /// <summary>The message read by the last successful <see cref="MoveNext"/>.</summary>
    T Current { get; }

    /// <summary>Reads the next message; false at the end of the stream.</summary>
    /// <exception cref="RpcException">The stream is malformed or the call failed.</exception>
    Task<bool> MoveNext(CancellationToken cancellationToken);
}

/// <summary>Writes messages to a stream (request stream on the client, response stream on the server).
/// One write at a time: the previous write must have completed.</summary>
/// <typeparam name="T">Message type.</typeparam>
public interface IAsyncStreamWriter<in T>
{
    /// <summary>Writes one message and flushes it to the transport.</summary>
    Task WriteAsync(T message, CancellationToken cancellationToken = default);
}

/// <summary>The server's response stream.</summary>
/// <typeparam name="T">Message type.</typeparam>
public interface IServerStreamWriter<in T> : IAsyncStreamWriter<T>
{
}

/// <summary>The client's request stream; <see cref="CompleteAsync"/> half-closes it.</summary>
/// <typeparam name="T">Message type.</typeparam>
public interface IClientStreamWriter<in T> : IAsyncStreamWriter<T>
{
    /// <summary>Signals that no more messages will be written (half-close).</summary>
    Task CompleteAsync();
}
