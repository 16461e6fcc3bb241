using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace ControlPlane.Grpc.Client;

/// <summary>Reads statuses and metadata out of HTTP/2 response headers and trailers, and maps transport
/// failures to gRPC statuses (grpc/doc/PROTOCOL-HTTP2.md, http-grpc-status-mapping.md).</summary>
internal static class GrpcResponseHeaders
{
    /// <summary>The status carried by a response's headers when the call is already over: a non-200 HTTP
    /// status, a non-gRPC content type, or a Trailers-Only response. Null when messages and trailers follow.</summary>
    public static Status? StatusFromHeaders(HttpResponseMessage response)
    {
        var headerStatus = TryReadStatus(response.Headers);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var http = (int)response.StatusCode;
            return headerStatus ?? new Status(GrpcProtocol.StatusFromHttp(http), $"Bad gRPC response. HTTP status code: {http}.");
        }

        if (headerStatus is { } trailersOnly)
        {
            return trailersOnly;
        }

        var contentType = ContentType(response);
        if (!GrpcProtocol.IsGrpcContentType(contentType))
        {
            return new Status(StatusCode.Unknown, contentType is null
                ? "Bad gRPC response. The response has no content-type."
                : $"Bad gRPC response. Invalid content-type: '{contentType}'.");
        }

        return null;
    }

    /// <summary>The status in the trailers at the end of the body; INTERNAL when there is none.</summary>
    public static Status StatusFromTrailers(HttpResponseMessage response) =>
        TryReadStatus(response.TrailingHeaders)
        ?? new Status(StatusCode.Internal, "Bad gRPC response. The response ended without a grpc-status trailer.");

    /// <summary>The <c>grpc-encoding</c> of the response messages, if any.</summary>
    public static string? Encoding(HttpResponseMessage response) =>
        response.Headers.NonValidated.TryGetValues(GrpcProtocol.EncodingHeader, out var values) ? First(values) : null;

    /// <summary>User metadata from headers or trailers: reserved headers dropped, <c>-bin</c> values decoded.</summary>
    public static Metadata ToMetadata(HttpHeaders headers)
    {
        var metadata = new Metadata();
        foreach (var header in headers.NonValidated)
        {
            if (GrpcProtocol.IsReservedHeader(header.Key))
            {
                continue;
            }

            var binary = Metadata.Entry.IsBinaryKey(header.Key);
            foreach (var value in header.Value)
            {
                if (binary)
                {
                    if (TryDecodeBase64(value, out var bytes))
                    {
                        metadata.Add(header.Key, bytes);
                    }
                }
                else if (IsPrintableAscii(value))
                {
                    metadata.Add(header.Key, value);
                }
            }
        }

        return metadata;
    }

    /// <summary>The status for an exception thrown by the HTTP stack while a call was running.</summary>
    public static Status FromTransportException(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpProtocolException protocol)
            {
                return FromResetCode(protocol.ErrorCode, protocol.Message);
            }
        }

        return exception switch
        {
            HttpRequestException { HttpRequestError: HttpRequestError.VersionNegotiationError } =>
                new Status(StatusCode.Unavailable, $"The server does not speak HTTP/2: {exception.Message}"),
            HttpRequestException or IOException or ObjectDisposedException =>
                new Status(StatusCode.Unavailable, $"Error talking to the server: {Describe(exception)}"),
            _ => new Status(StatusCode.Internal, $"Error starting gRPC call: {Describe(exception)}"),
        };
    }

    /// <summary>Maps an RST_STREAM / GOAWAY error code (RFC 9113 section 7) as the gRPC spec asks.</summary>
    public static Status FromResetCode(long code, string detail) => code switch
    {
        0x7 => new Status(StatusCode.Unavailable, $"The server refused the stream: {detail}"),
        0x8 => new Status(StatusCode.Cancelled, $"The server cancelled the stream: {detail}"),
        0xB => new Status(StatusCode.ResourceExhausted, $"The server asked to enhance our calm: {detail}"),
        0xC => new Status(StatusCode.PermissionDenied, $"Inadequate security: {detail}"),
        _ => new Status(StatusCode.Internal, $"HTTP/2 stream error 0x{code:X}: {detail}"),
    };

    private static Status? TryReadStatus(HttpHeaders headers)
    {
        if (!headers.NonValidated.TryGetValues(GrpcProtocol.StatusHeader, out var values))
        {
            return null;
        }

        var raw = First(values);
        var message = headers.NonValidated.TryGetValues(GrpcProtocol.MessageHeader, out var messages)
            ? GrpcPercentEncoding.Decode(First(messages) ?? "")
            : "";
        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var code))
        {
            return new Status(StatusCode.Unknown, $"Bad gRPC response. Invalid grpc-status '{raw}'. {message}".TrimEnd());
        }

        // Codes outside the known range are UNKNOWN, as the status-code doc says.
        return new Status(code <= (int)StatusCode.Unauthenticated ? (StatusCode)code : StatusCode.Unknown, message);
    }

    private static string? ContentType(HttpResponseMessage response) =>
        response.Content.Headers.NonValidated.TryGetValues("Content-Type", out var values) ? First(values) : null;

    private static string? First(HeaderStringValues values)
    {
        foreach (var v in values)
        {
            return v;
        }

        return null;
    }

    private static bool IsPrintableAscii(string value)
    {
        foreach (var c in value)
        {
            if (c is < (char)0x20 or > (char)0x7E)
            {
                return false;
            }
        }

        return true;
    }

    // Senders may omit base64 padding (the spec allows either form).
    private static bool TryDecodeBase64(string value, out byte[] bytes)
    {
        var trimmed = value.Trim();
        var padded = (trimmed.Length % 4) switch
        {
            2 => trimmed + "==",
            3 => trimmed + "=",
            _ => trimmed,
        };
        bytes = new byte[padded.Length * 3 / 4];
        if (Convert.TryFromBase64String(padded, bytes, out var written))
        {
            bytes = bytes.AsSpan(0, written).ToArray();
            return true;
        }

        return false;
    }

    private static string Describe(Exception exception) =>
        exception.InnerException is { } inner ? $"{exception.Message} ({inner.Message})" : exception.Message;
}
