namespace ControlPlane.Grpc;

/// <summary>Constants of the gRPC over HTTP/2 protocol (grpc/doc/PROTOCOL-HTTP2.md).</summary>
public static class GrpcProtocol
{
    /// <summary>The base content type; <c>application/grpc+proto</c> etc. are accepted too.</summary>
    public const string ContentType = "application/grpc";
    /// <summary>Length-prefixed message header: 1 byte compressed flag + 4 bytes big-endian length.</summary>
    public const int MessageHeaderSize = 5;
    /// <summary>Default maximum size of a received message: 4 MiB.</summary>
    public const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>Trailer carrying the status code.</summary>
    public const string StatusHeader = "grpc-status";
    /// <summary>Trailer carrying the percent-encoded status message.</summary>
    public const string MessageHeader = "grpc-message";
    /// <summary>Request header carrying the deadline.</summary>
    public const string TimeoutHeader = "grpc-timeout";
    /// <summary>Message encoding of this side's messages.</summary>
    public const string EncodingHeader = "grpc-encoding";
    /// <summary>Encodings this side accepts.</summary>
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    /// <summary>The "te: trailers" header clients send.</summary>
    public const string TeHeader = "te";
    /// <summary>Identity (no) compression.</summary>
    public const string IdentityEncoding = "identity";
    /// <summary>gzip compression.</summary>
    public const string GzipEncoding = "gzip";

    /// <summary>True when <paramref name="contentType"/> is <c>application/grpc</c> or <c>application/grpc+...</c> / <c>;...</c>.</summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (contentType.Length == ContentType.Length)
        {
            return true;
        }

        var next = contentType[ContentType.Length];
        return next is '+' or ';';
    }

    /// <summary>True for headers the protocol reserves: they are not exposed as user metadata.</summary>
    public static bool IsReservedHeader(string name) =>
        name.StartsWith(':')
        || name.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase)
        || name.Equals("content-type", StringComparison.OrdinalIgnoreCase)
        || name.Equals("te", StringComparison.OrdinalIgnoreCase)
        || name.Equals("user-agent", StringComparison.OrdinalIgnoreCase)
        || name.Equals("host", StringComparison.OrdinalIgnoreCase)
        || name.Equals("content-length", StringComparison.OrdinalIgnoreCase)
        || name.Equals("accept-encoding", StringComparison.OrdinalIgnoreCase)
        || name.Equals("connection", StringComparison.OrdinalIgnoreCase)
        || name.Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase);

    /// <summary>Maps an HTTP status to a gRPC status when a response has no <c>grpc-status</c>
    /// (grpc/doc/http-grpc-status-mapping.md).</summary>
    public static StatusCode StatusFromHttp(int httpStatus) => httpStatus switch
    {
        400 => StatusCode.Internal,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };
}
