using System.Globalization;
using System.Text;

namespace ControlPlane.Redis;

/// <summary>One RESP2 reply: a discriminated value with typed accessors. Strings are kept as raw
/// bytes (binary-safe); <see cref="AsString"/> decodes them as UTF-8.</summary>
public readonly struct RespValue : IEquatable<RespValue>
{
    private static readonly RespValue[] EmptyArray = [];

    // byte[] for simple strings, errors and bulk strings; RespValue[] for arrays; null for nulls and integers.
    private readonly object? _payload;
    private readonly long _integer;

    private RespValue(RespType type, object? payload, long integer)
    {
        Type = type;
        _payload = payload;
        _integer = integer;
    }

    /// <summary>The reply type.</summary>
    public RespType Type { get; }

    /// <summary>True for the null bulk string and the null array.</summary>
    public bool IsNull => _payload is null && Type is RespType.BulkString or RespType.Array;

    /// <summary>True for an error reply nested in an array (for example inside EXEC or a Lua table).</summary>
    public bool IsError => Type == RespType.Error;

    /// <summary>The null bulk string (<c>$-1</c>), as GET returns for a missing key.</summary>
    public static RespValue NullBulkString { get; } = new(RespType.BulkString, null, 0);

    /// <summary>The null array (<c>*-1</c>).</summary>
    public static RespValue NullArray { get; } = new(RespType.Array, null, 0);

    /// <summary>Creates a simple string.</summary>
    public static RespValue SimpleString(string value) =>
        new(RespType.SimpleString, Encoding.UTF8.GetBytes(value), 0);

    /// <summary>Creates an error value.</summary>
    public static RespValue Error(string value) => new(RespType.Error, Encoding.UTF8.GetBytes(value), 0);

    /// <summary>Creates an integer.</summary>
    public static RespValue Integer(long value) => new(RespType.Integer, null, value);

    /// <summary>Creates a bulk string; null gives the null bulk string.</summary>
    public static RespValue BulkString(byte[]? value) => new(RespType.BulkString, value, 0);

    /// <summary>Creates a bulk string from UTF-8 text.</summary>
    public static RespValue BulkString(string value) => new(RespType.BulkString, Encoding.UTF8.GetBytes(value), 0);

    /// <summary>Creates an array; null gives the null array.</summary>
    public static RespValue Array(RespValue[]? items) => new(RespType.Array, items, 0);

    internal static RespValue FromBytes(RespType type, byte[] bytes) => new(type, bytes, 0);

    /// <summary>The raw bytes of a string or error; null for the null bulk string.</summary>
    /// <exception cref="InvalidOperationException">The value is an integer or an array.</exception>
    public byte[]? AsBytes() => Type switch
    {
        RespType.SimpleString or RespType.Error or RespType.BulkString => (byte[]?)_payload,
        RespType.Integer => Encoding.ASCII.GetBytes(_integer.ToString(CultureInfo.InvariantCulture)),
        _ => throw NotA("a string"),
    };

    /// <summary>The value as UTF-8 text (integers are formatted); null for the null bulk string.</summary>
    /// <exception cref="InvalidOperationException">The value is an array.</exception>
    public string? AsString() => Type switch
    {
        RespType.SimpleString or RespType.Error or RespType.BulkString =>
            _payload is byte[] b ? Encoding.UTF8.GetString(b) : null,
        RespType.Integer => _integer.ToString(CultureInfo.InvariantCulture),
        _ => throw NotA("a string"),
    };

    /// <summary>The value as a 64-bit integer: an integer reply, or a string holding one (HGET of a counter).</summary>
    /// <exception cref="InvalidOperationException">The value is null, an array, or not an integer.</exception>
    public long AsInt64()
    {
        if (Type == RespType.Integer)
        {
            return _integer;
        }

        if (Type is RespType.SimpleString or RespType.BulkString && _payload is byte[] b &&
            long.TryParse(b, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
        {
            return parsed;
        }

        throw NotA("an integer");
    }

    /// <summary>The items of an array; null for the null array.</summary>
    /// <exception cref="InvalidOperationException">The value is not an array.</exception>
    public IReadOnlyList<RespValue>? AsArray() =>
        Type == RespType.Array ? (RespValue[]?)_payload : throw NotA("an array");

    /// <summary>The items of an array, with the null array read as empty.</summary>
    internal RespValue[] ItemsOrEmpty() => Type == RespType.Array ? (RespValue[]?)_payload ?? EmptyArray : throw NotA("an array");

    /// <inheritdoc />
    public bool Equals(RespValue other)
    {
        if (Type != other.Type || IsNull != other.IsNull)
        {
            return false;
        }

        return Type switch
        {
            RespType.Integer => _integer == other._integer,
            RespType.Array => IsNull || ((RespValue[])_payload!).AsSpan().SequenceEqual((RespValue[])other._payload!),
            _ => IsNull || ((byte[])_payload!).AsSpan().SequenceEqual((byte[])other._payload!),
        };
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is RespValue other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => Type switch
    {
        RespType.Integer => HashCode.Combine(Type, _integer),
        RespType.Array => HashCode.Combine(Type, IsNull, (_payload as RespValue[])?.Length),
        _ => HashCode.Combine(Type, IsNull, (_payload as byte[])?.Length),
    };

    /// <summary>Value equality.</summary>
    public static bool operator ==(RespValue left, RespValue right) => left.Equals(right);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(RespValue left, RespValue right) => !left.Equals(right);

    /// <summary>A readable rendering for logs and test failures.</summary>
    public override string ToString() => Type switch
    {
        _ when IsNull => $"{Type}(null)",
        RespType.Integer => $"Integer({_integer.ToString(CultureInfo.InvariantCulture)})",
        RespType.Array => $"Array[{string.Join(", ", (RespValue[])_payload!)}]",
        _ => $"{Type}(\"{AsString()}\")",
    };

    private InvalidOperationException NotA(string what) =>
        new($"The reply is {(IsNull ? "null " : string.Empty)}{Type}, not {what}.");
}
