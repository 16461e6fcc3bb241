using System.Buffers;
using Google.Protobuf;

namespace ControlPlane.Grpc;

/// <summary>Turns messages of type <typeparamref name="T"/> into bytes and back.</summary>
public sealed class Marshaller<T>
{
    private readonly Func<T, int> _size;
    private readonly Action<T, Span<byte>> _write;
    private readonly Func<ReadOnlySequence<byte>, T> _parse;

    /// <summary>Creates a marshaller from its three operations.</summary>
    /// <param name="size">Serialized size of a message.</param>
    /// <param name="write">Writes a message into a span of exactly its size.</param>
    /// <param name="parse">Parses a message; throws on invalid bytes.</param>
    public Marshaller(Func<T, int> size, Action<T, Span<byte>> write, Func<ReadOnlySequence<byte>, T> parse)
    {
        _size = size;
        _write = write;
        _parse = parse;
    }

    /// <summary>Serialized size of <paramref name="message"/>.</summary>
    public int GetSize(T message) => _size(message);

    /// <summary>Writes <paramref name="message"/> into <paramref name="destination"/> (exactly its size).</summary>
    public void Write(T message, Span<byte> destination) => _write(message, destination);

    /// <summary>Serializes to a new array.</summary>
    public byte[] Serialize(T message)
    {
        var bytes = new byte[_size(message)];
        _write(message, bytes);
        return bytes;
    }

    /// <summary>Parses a message. Invalid bytes throw <see cref="RpcException"/> with INTERNAL.</summary>
    public T Deserialize(ReadOnlySequence<byte> payload)
    {
        try
        {
            return _parse(payload);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new RpcException(StatusCode.Internal, $"Failed to deserialize {typeof(T).Name}: {ex.Message}");
        }
    }
}

/// <summary>Marshallers for protobuf messages (Google.Protobuf generated types).</summary>
public static class Marshallers
{
    /// <summary>A marshaller for the protobuf message type <typeparamref name="T"/>.</summary>
    public static Marshaller<T> Protobuf<T>()
        where T : IMessage<T>, new() => ProtobufCache<T>.Instance;

    private static class ProtobufCache<T>
        where T : IMessage<T>, new()
    {
        private static readonly MessageParser<T> Parser = new(() => new T());

        public static readonly Marshaller<T> Instance = new(
            m => m.CalculateSize(),
            (m, span) => m.WriteTo(span),
            seq => Parser.ParseFrom(seq));
    }
}
