using System.Buffers;
using System.IO.Compression;

namespace ControlPlane.Grpc;

/// <summary>A message compression algorithm named in <c>grpc-encoding</c>.</summary>
public interface ICompressionProvider
{
    /// <summary>The encoding name, e.g. <c>gzip</c>.</summary>
    string EncodingName { get; }

    /// <summary>Compresses one message.</summary>
    byte[] Compress(ReadOnlySpan<byte> message);

    /// <summary>Decompresses one message; more than <paramref name="maxSize"/> bytes of output is
    /// RESOURCE_EXHAUSTED, invalid input is INTERNAL (both as <see cref="RpcException"/>).</summary>
    byte[] Decompress(ReadOnlySequence<byte> compressed, int maxSize);
}

/// <summary>The compression algorithms this layer speaks: gzip and deflate (zlib), besides identity.</summary>
public static class GrpcCompression
{
    /// <summary>gzip.</summary>
    public static readonly ICompressionProvider Gzip = new StreamCompressionProvider(
        GrpcProtocol.GzipEncoding, s => new GZipStream(s, CompressionLevel.Fastest, leaveOpen: true), s => new GZipStream(s, CompressionMode.Decompress));

    /// <summary>deflate (zlib format, as gRPC defines it).</summary>
    public static readonly ICompressionProvider Deflate = new StreamCompressionProvider(
        "deflate", s => new ZLibStream(s, CompressionLevel.Fastest, leaveOpen: true), s => new ZLibStream(s, CompressionMode.Decompress));

    /// <summary>Value of <c>grpc-accept-encoding</c> this layer sends.</summary>
    public const string AcceptEncoding = "identity,gzip,deflate";

    /// <summary>The provider for an encoding name; null for identity or unknown names.</summary>
    public static ICompressionProvider? Find(string? encoding) => encoding switch
    {
        "gzip" => Gzip,
        "deflate" => Deflate,
        _ => null,
    };

    /// <summary>True when <paramref name="acceptEncoding"/> (a comma-separated list) names <paramref name="encoding"/>.</summary>
    public static bool Accepts(string? acceptEncoding, string encoding)
    {
        if (string.IsNullOrEmpty(acceptEncoding))
        {
            return false;
        }

        foreach (var part in acceptEncoding.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.Equals(encoding, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class StreamCompressionProvider(string name, Func<Stream, Stream> compressor, Func<Stream, Stream> decompressor) : ICompressionProvider
    {
        public string EncodingName => name;

        public byte[] Compress(ReadOnlySpan<byte> message)
        {
            using var output = new MemoryStream(message.Length / 2 + 32);
            using (var z = compressor(output))
            {
                z.Write(message);
            }

            return output.ToArray();
        }

        public byte[] Decompress(ReadOnlySequence<byte> compressed, int maxSize)
        {
            try
            {
                using var input = new MemoryStream(compressed.ToArray(), writable: false);
                using var z = decompressor(input);
                using var output = new MemoryStream();
                var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
                try
                {
                    int read;
                    while ((read = z.Read(buffer, 0, buffer.Length)) > 0)
                    {
                        if (output.Length + read > maxSize)
                        {
                            throw new RpcException(StatusCode.ResourceExhausted,
                                $"Received message exceeds the maximum configured message size after decompression ({maxSize} bytes).");
                        }

                        output.Write(buffer, 0, read);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                return output.ToArray();
            }
            catch (InvalidDataException ex)
            {
                throw new RpcException(StatusCode.Internal, $"Failed to decompress {name} message: {ex.Message}");
            }
        }
    }
}
