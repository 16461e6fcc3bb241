using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Google.Protobuf;

namespace ControlPlane.Server.Tests.Support;

/// <summary>Raw gRPC over HttpClient (HTTP/2 prior knowledge over http://): hand-built length-prefixed frames and
/// headers, so bad-input tests can send what no gRPC client would.</summary>
public static class GrpcWire
{
    public const string ContentType = "application/grpc";

    /// <summary>A 5-byte header (flag, big-endian length) followed by <paramref name="payload"/>.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload, byte flag = 0, uint? declaredLength = null)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(5));
        return frame;
    }

    public static byte[] Frame(IMessage message) => Frame(message.ToByteArray());

    public static byte[] GzipFrame(IMessage message) => Frame(Gzip(message.ToByteArray()), flag: 1);

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    public static byte[] Gunzip(byte[] data)
    {
        using var input = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    public static byte[] Deflate(byte[] data)
    {
        using var output = new MemoryStream();
        using (var z = new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(data);
        }

        return output.ToArray();
    }

    public static byte[] Inflate(byte[] data)
    {
        using var input = new ZLibStream(new MemoryStream(data), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>A gRPC POST with the standard headers and a complete body.</summary>
    public static HttpRequestMessage Request(string path, byte[] body, params (string Name, string Value)[] headers) =>
        Request(path, new ByteArrayContent(body), headers);

    /// <summary>A gRPC POST with the standard headers.</summary>
    public static HttpRequestMessage Request(string path, HttpContent content, params (string Name, string Value)[] headers)
    {
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(ContentType);
        var request = new HttpRequestMessage(HttpMethod.Post, path.TrimStart('/'))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach (var (name, value) in headers)
        {
            if (name.Equals("content-type", StringComparison.OrdinalIgnoreCase))
            {
                content.Headers.Remove("Content-Type");
                content.Headers.TryAddWithoutValidation("Content-Type", value);
            }
            else
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return request;
    }

    /// <summary>Sends a complete request and reads the whole response.</summary>
    public static async Task<GrpcResponse> CallAsync(this HttpClient client, string path, byte[] body, params (string Name, string Value)[] headers)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var request = Request(path, body, headers);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return await GrpcResponse.ReadAsync(response);
    }

    /// <summary>Unary call with one protobuf message.</summary>
    public static Task<GrpcResponse> UnaryAsync(this HttpClient client, string path, IMessage message, params (string Name, string Value)[] headers) =>
        client.CallAsync(path, Frame(message), headers);
}

/// <summary>A finished gRPC response as seen on the wire.</summary>
public sealed class GrpcResponse
{
    public required HttpStatusCode HttpStatus { get; init; }
    public required HttpResponseHeaders Headers { get; init; }
    public required HttpContentHeaders ContentHeaders { get; init; }
    public required HttpResponseHeaders Trailers { get; init; }
    public required IReadOnlyList<(byte Flag, byte[] Payload)> Frames { get; init; }
    public required byte[] Body { get; init; }

    /// <summary>True when the status came in the headers frame (Trailers-Only).</summary>
    public bool TrailersOnly => Headers.Contains("grpc-status");

    public StatusCode? Status => Value("grpc-status") is { } s ? (StatusCode)int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>The raw (still percent-encoded) grpc-message.</summary>
    public string? RawMessage => Value("grpc-message");

    public string? Message => RawMessage is { } m ? Uri.UnescapeDataString(m) : null;

    public IEnumerable<byte[]> Payloads => Frames.Select(f => f.Payload);

    public T Single<T>(MessageParser<T> parser)
        where T : IMessage<T> => parser.ParseFrom(Assert.Single(Frames).Payload);

    /// <summary>A header or trailer value (trailers first, then headers).</summary>
    public string? Value(string name) =>
        Trailers.TryGetValues(name, out var t) ? string.Join(",", t)
        : Headers.TryGetValues(name, out var h) ? string.Join(",", h)
        : null;

    public static async Task<GrpcResponse> ReadAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        return new GrpcResponse
        {
            HttpStatus = response.StatusCode,
            Headers = response.Headers,
            ContentHeaders = response.Content.Headers,
            Trailers = response.TrailingHeaders,
            Body = body,
            Frames = GrpcFrameReader.Split(body),
        };
    }
}

/// <summary>Splits or incrementally reads length-prefixed frames.</summary>
public sealed class GrpcFrameReader(Stream stream)
{
    public static List<(byte Flag, byte[] Payload)> Split(byte[] body)
    {
        var frames = new List<(byte, byte[])>();
        var offset = 0;
        while (offset + 5 <= body.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(offset + 1));
            if (offset + 5 + length > body.Length)
            {
                break;
            }

            frames.Add((body[offset], body.AsSpan(offset + 5, length).ToArray()));
            offset += 5 + length;
        }

        Assert.Equal(body.Length, offset);
        return frames;
    }

    /// <summary>The next frame's payload, or null at the end of the body.</summary>
    public async Task<byte[]?> ReadAsync(CancellationToken cancellationToken = default)
    {
        var header = new byte[5];
        var read = await ReadFullyAsync(header, cancellationToken);
        if (read == 0)
        {
            return null;
        }

        Assert.Equal(5, read);
        var payload = new byte[BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1))];
        Assert.Equal(payload.Length, await ReadFullyAsync(payload, cancellationToken));
        return payload;
    }

    private async Task<int> ReadFullyAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}

/// <summary>A request body the test writes to while the call runs (client and duplex streaming,
/// and requests that never end).</summary>
public sealed class StreamingContent : HttpContent
{
    private readonly Channel<byte[]> _chunks = Channel.CreateUnbounded<byte[]>();

    public void Write(byte[] chunk) => _chunks.Writer.TryWrite(chunk);

    public void Complete() => _chunks.Writer.TryComplete();

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await stream.FlushAsync(cancellationToken);
        await foreach (var chunk in _chunks.Reader.ReadAllAsync(cancellationToken))
        {
            await stream.WriteAsync(chunk, cancellationToken);
            await stream.FlushAsync(cancellationToken);
        }
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
