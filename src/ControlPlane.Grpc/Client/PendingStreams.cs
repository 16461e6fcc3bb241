namespace ControlPlane.Grpc;

// Temporary: the server side commits the shared Core/Streams.cs with these exact shapes; this file
// is deleted as soon as that lands.

/// <summary>Reads a stream of messages.</summary>
public interface IAsyncStreamReader<out T>
{
    /// <summary>The current message.</summary>
    T Current { get; }

    /// <summary>Advances to the next message; false at the end of the stream.</summary>
    Task<bool> MoveNext(CancellationToken cancellationToken);
}

/// <summary>Writes the client's request stream.</summary>
public interface IClientStreamWriter<in T>
{
    /// <summary>Writes one message.</summary>
    Task WriteAsync(T message, CancellationToken cancellationToken);

    /// <summary>Ends the request stream.</summary>
    Task CompleteAsync();
}
