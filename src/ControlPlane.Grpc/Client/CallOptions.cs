namespace ControlPlane.Grpc.Client;

/// <summary>Per-call settings. <c>default</c> means: no metadata, no deadline, not cancellable, the
/// channel's compression.</summary>
public readonly struct CallOptions
{
    /// <summary>Creates call options.</summary>
    public CallOptions(Metadata? headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default)
    {
        Headers = headers;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>Request metadata sent as HTTP/2 headers (<c>-bin</c> keys base64-encoded).</summary>
    public Metadata? Headers { get; init; }

    /// <summary>When the call must be over (UTC). Sent as <c>grpc-timeout</c>; when it passes the client
    /// cancels the HTTP/2 stream and the call ends with DEADLINE_EXCEEDED.</summary>
    public DateTime? Deadline { get; init; }

    /// <summary>Cancels the call (RST_STREAM to the server); the call then ends with CANCELLED.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Overrides the channel's request compression for this call: <c>gzip</c>, <c>deflate</c>
    /// or <c>identity</c> (none). Null keeps the channel's setting.</summary>
    public string? RequestCompression { get; init; }
}
