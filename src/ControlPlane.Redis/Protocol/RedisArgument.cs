using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace ControlPlane.Redis;

/// <summary>One argument of a command, sent as a RESP bulk string: text (UTF-8), raw bytes
/// (binary-safe), or a number (decimal ASCII). <c>default</c> is the empty string.</summary>
public readonly struct RedisArgument
{
    private readonly string? _text;
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly long _integer;
    private readonly Kind _kind;

    private RedisArgument(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _text = text;
        _kind = Kind.Text;
    }

    private RedisArgument(ReadOnlyMemory<byte> bytes)
    {
        _bytes = bytes;
        _kind = Kind.Bytes;
    }

    private RedisArgument(long integer)
    {
        _integer = integer;
        _kind = Kind.Integer;
    }

    private enum Kind : byte
    {
        Bytes,
        Text,
        Integer,
    }

    /// <summary>Text, encoded as UTF-8.</summary>
    public static implicit operator RedisArgument(string text) => new(text);

    /// <summary>Raw bytes, sent unchanged.</summary>
    public static implicit operator RedisArgument(byte[] bytes) => new(bytes ?? throw new ArgumentNullException(nameof(bytes)));

    /// <summary>Raw bytes, sent unchanged.</summary>
    public static implicit operator RedisArgument(ReadOnlyMemory<byte> bytes) => new(bytes);

    /// <summary>A decimal integer.</summary>
    public static implicit operator RedisArgument(long integer) => new(integer);

    /// <summary>A decimal integer.</summary>
    public static implicit operator RedisArgument(int integer) => new(integer);

    /// <summary>Text, encoded as UTF-8.</summary>
    public static RedisArgument FromString(string text) => new(text);

    /// <summary>Raw bytes, sent unchanged.</summary>
    public static RedisArgument FromBytes(ReadOnlyMemory<byte> bytes) => new(bytes);

    /// <summary>A decimal integer.</summary>
    public static RedisArgument FromInt64(long integer) => new(integer);

    /// <summary>The number of bytes the argument occupies on the wire (without framing).</summary>
    internal int ByteLength => _kind switch
    {
        Kind.Text => Encoding.UTF8.GetByteCount(_text!),
        Kind.Integer => DecimalLength(_integer),
        _ => _bytes.Length,
    };

    /// <summary>Writes the argument's bytes (without framing).</summary>
    internal void WriteContent(IBufferWriter<byte> writer)
    {
        switch (_kind)
        {
            case Kind.Text:
                Encoding.UTF8.GetBytes(_text.AsSpan(), writer);
                break;
            case Kind.Integer:
                var span = writer.GetSpan(20);
                Utf8Formatter.TryFormat(_integer, span, out var written);
                writer.Advance(written);
                break;
            default:
                writer.Write(_bytes.Span);
                break;
        }
    }

    /// <summary>The argument as text, for diagnostics.</summary>
    public override string ToString() => _kind switch
    {
        Kind.Text => _text!,
        Kind.Integer => _integer.ToString(CultureInfo.InvariantCulture),
        _ => Encoding.UTF8.GetString(_bytes.Span),
    };

    internal static int DecimalLength(long value)
    {
        if (value == long.MinValue)
        {
            return 20;
        }

        var length = value < 0 ? 2 : 1;
        var magnitude = Math.Abs(value);
        while (magnitude >= 10)
        {
            magnitude /= 10;
            length++;
        }

        return length;
    }
}
