using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;

namespace ControlPlane.Grpc;

/// <summary>Reads gRPC length-prefixed messages from a pipe. Size limits are checked from the
/// 5-byte header before the body is buffered; a stream that ends mid-message is an error.</summary>
public sealed class GrpcMessageReader
{
    private readonly PipeReader _reader;
    private readonly int _maxMessageSize;
    private readonly ICompressionProvider? _decompressor;
    private readonly string? _encodingName;

    /// <summary>Creates a reader.</summary>
    /// <param name="reader">The request (server) or response (client) body.</param>
    /// <param name="maxMessageSize">Largest accepted message, before and after decompression.</param>
    /// <param name="encodingName">The peer's <c>grpc-encoding</c>, if any.</param>
    public GrpcMessageReader(PipeReader reader, int maxMessageSize, string? encodingName)
    {
        _reader = reader;
        _maxMessageSize = maxMessageSize;
        _encodingName = encodingName is null or GrpcProtocol.IdentityEncoding ? null : encodingName;
        _decompressor = GrpcCompression.Find(_encodingName);
    }

    /// <summary>Number of messages read so far.</summary>
    public int MessagesRead { get; private set; }

    /// <summary>Reads the next message, or null at a clean end of stream.</summary>
    /// <exception cref="RpcException">INTERNAL for malformed framing or bytes, RESOURCE_EXHAUSTED for
    /// an oversized message, UNIMPLEMENTED for a compressed message in an unsupported encoding.</exception>
    public async ValueTask<T?> ReadAsync<T>(Marshaller<T> marshaller, CancellationToken cancellationToken)
        where T : class
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                _reader.AdvanceTo(buffer.Start);
                throw new OperationCanceledException(cancellationToken);
            }

            if (buffer.Length >= GrpcProtocol.MessageHeaderSize)
            {
                var header = ParseHeader(buffer);
                if (buffer.Length - GrpcProtocol.MessageHeaderSize >= header.Length)
                {
                    var payload = buffer.Slice(GrpcProtocol.MessageHeaderSize, header.Length);
                    T message;
                    try
                    {
                        message = header.Compressed
                            ? marshaller.Deserialize(new ReadOnlySequence<byte>(_decompressor!.Decompress(payload, _maxMessageSize)))
                            : marshaller.Deserialize(payload);
                    }
                    finally
                    {
                        _reader.AdvanceTo(payload.End);
                    }

                    MessagesRead++;
                    return message;
                }
            }

            if (result.IsCompleted)
            {
                if (buffer.Length == 0)
                {
                    _reader.AdvanceTo(buffer.End);
                    return null;
                }

                // The error is built before AdvanceTo: the buffer must not be read after it is released.
                var error = buffer.Length < GrpcProtocol.MessageHeaderSize
                    ? new RpcException(StatusCode.Internal, $"Incomplete gRPC message header: the stream ended after {buffer.Length} of 5 header bytes.")
                    : new RpcException(StatusCode.Internal,
                        $"Incomplete gRPC message: the stream ended after {buffer.Length - GrpcProtocol.MessageHeaderSize} of {ParseHeader(buffer).Length} message bytes.");
                _reader.AdvanceTo(buffer.End);
                throw error;
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Reads a stream that must hold exactly one message (a unary request or response body)
    /// in as few reads as the transport allows: it waits for the end of the stream, checking the header
    /// as soon as it arrives, and fails as soon as a second message starts, so at most one message is
    /// ever buffered.</summary>
    /// <exception cref="RpcException">INTERNAL for no message, several messages or malformed framing or
    /// bytes; RESOURCE_EXHAUSTED for an oversized message; UNIMPLEMENTED for an unsupported encoding.</exception>
    public async ValueTask<T> ReadSingleAsync<T>(Marshaller<T> marshaller, CancellationToken cancellationToken)
        where T : class
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                _reader.AdvanceTo(buffer.Start);
                throw new OperationCanceledException(cancellationToken);
            }

            var header = default((bool Compressed, long Length));
            if (buffer.Length >= GrpcProtocol.MessageHeaderSize)
            {
                try
                {
                    header = ParseHeader(buffer);
                }
                catch
                {
                    _reader.AdvanceTo(buffer.End);
                    throw;
                }

                if (buffer.Length > GrpcProtocol.MessageHeaderSize + header.Length)
                {
                    _reader.AdvanceTo(buffer.End);
                    throw new RpcException(StatusCode.Internal, "The stream carried more than one message where exactly one was expected.");
                }
            }

            if (!result.IsCompleted)
            {
                _reader.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            try
            {
                if (buffer.Length == 0)
                {
                    throw new RpcException(StatusCode.Internal, "The stream ended without a message where exactly one was expected.");
                }

                if (buffer.Length < GrpcProtocol.MessageHeaderSize)
                {
                    throw new RpcException(StatusCode.Internal, $"Incomplete gRPC message header: the stream ended after {buffer.Length} of 5 header bytes.");
                }

                var bodyLength = buffer.Length - GrpcProtocol.MessageHeaderSize;
                if (bodyLength < header.Length)
                {
                    throw new RpcException(StatusCode.Internal, $"Incomplete gRPC message: the stream ended after {bodyLength} of {header.Length} message bytes.");
                }

                var payload = buffer.Slice(GrpcProtocol.MessageHeaderSize);
                var message = header.Compressed
                    ? marshaller.Deserialize(new ReadOnlySequence<byte>(_decompressor!.Decompress(payload, _maxMessageSize)))
                    : marshaller.Deserialize(payload);
                MessagesRead++;
                return message;
            }
            finally
            {
                _reader.AdvanceTo(buffer.End);
            }
        }
    }

    private (bool Compressed, long Length) ParseHeader(ReadOnlySequence<byte> buffer)
    {
        Span<byte> header = stackalloc byte[GrpcProtocol.MessageHeaderSize];
        buffer.Slice(0, GrpcProtocol.MessageHeaderSize).CopyTo(header);
        var flag = header[0];
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (flag > 1)
        {
            throw new RpcException(StatusCode.Internal, $"Invalid gRPC message compressed flag {flag}: must be 0 or 1.");
        }

        if (length > _maxMessageSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted,
                $"Received message larger than max ({length} vs. {_maxMessageSize} bytes).");
        }

        if (flag == 1 && _decompressor is null)
        {
            throw _encodingName is null
                ? new RpcException(StatusCode.Internal, "Received a compressed message but no grpc-encoding was sent.")
                : new RpcException(StatusCode.Unimplemented, $"Unsupported grpc-encoding '{_encodingName}'. Supported: {GrpcCompression.AcceptEncoding}.");
        }

        return (flag == 1, length);
    }
}

/// <summary>Writes gRPC length-prefixed messages.</summary>
public static class GrpcMessageWriter
{
    /// <summary>Frames <paramref name="message"/> into <paramref name="writer"/> (not flushed), compressing
    /// it when <paramref name="compressor"/> is given.</summary>
    public static void Write<T>(IBufferWriter<byte> writer, T message, Marshaller<T> marshaller, ICompressionProvider? compressor)
    {
        var size = marshaller.GetSize(message);
        if (compressor is null)
        {
            var span = writer.GetSpan(GrpcProtocol.MessageHeaderSize + size);
            span[0] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)size);
            marshaller.Write(message, span.Slice(GrpcProtocol.MessageHeaderSize, size));
            writer.Advance(GrpcProtocol.MessageHeaderSize + size);
            return;
        }

        var raw = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            marshaller.Write(message, raw.AsSpan(0, size));
            var compressed = compressor.Compress(raw.AsSpan(0, size));
            var span = writer.GetSpan(GrpcProtocol.MessageHeaderSize + compressed.Length);
            span[0] = 1;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)compressed.Length);
            compressed.CopyTo(span[GrpcProtocol.MessageHeaderSize..]);
            writer.Advance(GrpcProtocol.MessageHeaderSize + compressed.Length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }
}
