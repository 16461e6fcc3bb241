namespace ControlPlane.Grpc;

/// <summary>Ends a call with a chosen non-OK status. Thrown by handlers to pick the status a client
/// sees, and by the client when a call ends with a non-OK status.</summary>
public sealed class RpcException : Exception
{
    /// <summary>Creates the exception for <paramref name="status"/>.</summary>
    public RpcException(Status status)
        : this(status, new Metadata())
    {
    }

    /// <summary>Creates the exception for <paramref name="status"/> with response trailers.</summary>
    public RpcException(Status status, Metadata trailers)
        : base(status.ToString())
    {
        Status = status;
        Trailers = trailers;
    }

    /// <summary>Creates the exception for a code and detail.</summary>
    public RpcException(StatusCode code, string detail)
        : this(new Status(code, detail))
    {
    }

    /// <summary>The call's status.</summary>
    public Status Status { get; }

    /// <summary>The status code (shortcut for <c>Status.StatusCode</c>).</summary>
    public StatusCode StatusCode => Status.StatusCode;

    /// <summary>Trailers sent (server side) or received (client side) with the status.</summary>
    public Metadata Trailers { get; }
}
