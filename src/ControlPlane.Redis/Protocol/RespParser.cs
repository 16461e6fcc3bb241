using System.Buffers;

namespace ControlPlane.Redis.Protocol;

/// <summary>Bounds that keep a hostile or broken peer from making the client allocate without limit.</summary>
/// <param name="MaxBulkLength">Longest bulk string accepted (Redis' own proto-max-bulk-len default is 512 MB).</param>
/// <param name="MaxArrayLength">Most items in one array.</param>
/// <param name="MaxDepth">Deepest nesting of arrays.</param>
/// <param name="MaxLineLength">Longest simple string or error line.</param>
internal readonly record struct RespLimits(long MaxBulkLength, long MaxArrayLength, int MaxDepth, int MaxLineLength)
{
    public static RespLimits Default { get; } = new(512L * 1024 * 1024, 1L << 24, 64, 1024 * 1024);
}

/// <summary>An incremental, strict RESP2 reply parser. <see cref="TryParse(ref ReadOnlySequence{byte}, in RespLimits, out RespValue)"/>
/// returns false while a reply is incomplete (split at any byte) and throws
/// <see cref="RedisProtocolException"/> as soon as the bytes cannot be valid RESP2.</summary>
internal static class RespParser
{
    // An integer line holds at most a sign and 19 digits; anything longer is not a length.
    private const int MaxIntegerLineLength = 20;

    // Above this, one more digit would overflow even the magnitude of long.MinValue.
    private const ulong MaxMagnitudeBeforeDigit = ((ulong)long.MaxValue + 1) / 10;

    public static bool TryParse(ref ReadOnlySequence<byte> buffer, out RespValue value) =>
        TryParse(ref buffer, RespLimits.Default, out value);

    /// <summary>Parses one complete reply from the start of <paramref name="buffer"/> and slices it off.</summary>
    public static bool TryParse(ref ReadOnlySequence<byte> buffer, in RespLimits limits, out RespValue value)
    {
        // First a scan that allocates nothing, so a partial reply announcing a huge array costs nothing
        // while it trickles in; then a second pass that builds the value from bytes known to be complete.
        var scan = new SequenceReader<byte>(buffer);
        if (!TryRead(ref scan, limits, depth: 0, materialize: false, out _))
        {
            value = default;
            return false;
        }

        var read = new SequenceReader<byte>(buffer);
        TryRead(ref read, limits, depth: 0, materialize: true, out value);
        buffer = buffer.Slice(read.Position);
        return true;
    }

    private static bool TryRead(ref SequenceReader<byte> reader, in RespLimits limits, int depth, bool materialize, out RespValue value)
    {
        value = default;
        if (!reader.TryRead(out var prefix))
        {
            return false;
        }

        switch (prefix)
        {
            case (byte)'+' or (byte)'-':
                if (!TryReadLine(ref reader, limits.MaxLineLength, out var line))
                {
                    return false;
                }

                if (materialize)
                {
                    value = RespValue.FromBytes(prefix == (byte)'+' ? RespType.SimpleString : RespType.Error, line.ToArray());
                }

                return true;

            case (byte)':':
                if (!TryReadInteger(ref reader, out var integer))
                {
                    return false;
                }

                value = RespValue.Integer(integer);
                return true;

            case (byte)'$':
                return TryReadBulk(ref reader, limits, materialize, out value);

            case (byte)'*':
                return TryReadArray(ref reader, limits, depth, materialize, out value);

            default:
                throw Violation($"unknown reply type byte 0x{prefix:X2} at offset {reader.Consumed - 1}");
        }
    }

    private static bool TryReadBulk(ref SequenceReader<byte> reader, in RespLimits limits, bool materialize, out RespValue value)
    {
        value = default;
        if (!TryReadInteger(ref reader, out var length))
        {
            return false;
        }

        if (length == -1)
        {
            value = RespValue.NullBulkString;
            return true;
        }

        if (length < -1 || length > limits.MaxBulkLength)
        {
            throw Violation($"bulk string length {length} is outside [-1, {limits.MaxBulkLength}]");
        }

        if (reader.Remaining < length + 2)
        {
            return false;
        }

        if (materialize)
        {
            var data = new byte[length];
            reader.TryCopyTo(data);
            value = RespValue.FromBytes(RespType.BulkString, data);
        }

        reader.Advance(length);
        if (!reader.IsNext("\r\n"u8, advancePast: true))
        {
            throw Violation($"bulk string of {length} bytes is not followed by CRLF");
        }

        return true;
    }

    private static bool TryReadArray(ref SequenceReader<byte> reader, in RespLimits limits, int depth, bool materialize, out RespValue value)
    {
        value = default;
        if (!TryReadInteger(ref reader, out var count))
        {
            return false;
        }

        if (count == -1)
        {
            value = RespValue.NullArray;
            return true;
        }

        if (count < -1 || count > limits.MaxArrayLength)
        {
            throw Violation($"array length {count} is outside [-1, {limits.MaxArrayLength}]");
        }

        if (depth >= limits.MaxDepth)
        {
            throw Violation($"arrays nested deeper than {limits.MaxDepth}");
        }

        var items = materialize ? new RespValue[count] : null;
        for (var i = 0; i < count; i++)
        {
            if (!TryRead(ref reader, limits, depth + 1, materialize, out var item))
            {
                return false;
            }

            if (items is not null)
            {
                items[i] = item;
            }
        }

        value = RespValue.Array(items);
        return true;
    }

    private static bool TryReadLine(ref SequenceReader<byte> reader, int maxLength, out ReadOnlySequence<byte> line)
    {
        if (!reader.TryReadTo(out line, (byte)'\r', advancePastDelimiter: true))
        {
            if (reader.Remaining > maxLength)
            {
                throw Violation($"line longer than {maxLength} bytes without CRLF");
            }

            return false;
        }

        if (line.Length > maxLength)
        {
            throw Violation($"line longer than {maxLength} bytes");
        }

        if (line.PositionOf((byte)'\n') is not null)
        {
            throw Violation("line contains a bare LF");
        }

        if (!reader.TryPeek(out var next))
        {
            return false;
        }

        if (next != (byte)'\n')
        {
            throw Violation("CR not followed by LF");
        }

        reader.Advance(1);
        return true;
    }

    private static bool TryReadInteger(ref SequenceReader<byte> reader, out long value)
    {
        value = 0;
        if (!TryReadLine(ref reader, MaxIntegerLineLength, out var line))
        {
            return false;
        }

        Span<byte> digits = stackalloc byte[MaxIntegerLineLength];
        line.CopyTo(digits);
        digits = digits[..(int)line.Length];

        var negative = digits.Length > 0 && digits[0] == (byte)'-';
        var start = negative ? 1 : 0;
        if (digits.Length == start)
        {
            throw Violation("empty integer");
        }

        ulong magnitude = 0;
        for (var i = start; i < digits.Length; i++)
        {
            var d = (uint)(digits[i] - (byte)'0');
            if (d > 9)
            {
                throw Violation($"invalid integer character 0x{digits[i]:X2}");
            }

            if (magnitude > MaxMagnitudeBeforeDigit)
            {
                throw Violation("integer overflows 64 bits");
            }

            magnitude = (magnitude * 10) + d;
            if (magnitude > (ulong)long.MaxValue + (negative ? 1UL : 0UL))
            {
                throw Violation("integer overflows 64 bits");
            }
        }

        value = negative ? (long)(0UL - magnitude) : (long)magnitude;
        return true;
    }

    private static RedisProtocolException Violation(string detail) =>
        new($"Protocol violation: {detail}. The connection is closed because the rest of the stream cannot be trusted.");

    /// <summary>Reads replies from <paramref name="input"/> until the connection ends, handing each complete one to
    /// <paramref name="onReply"/>. A connection that closes in the middle of a reply is a protocol violation.</summary>
    public static async Task ReadAllAsync(System.IO.Pipelines.PipeReader input, Action<RespValue> onReply)
    {
        while (true)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            try
            {
                while (TryParse(ref buffer, out var reply))
                {
                    onReply(reply);
                }
            }
            finally
            {
                input.AdvanceTo(buffer.Start, buffer.End);
            }

            if (result.IsCanceled)
            {
                return;
            }

            if (result.IsCompleted)
            {
                if (!buffer.IsEmpty)
                {
                    throw new RedisProtocolException("Protocol violation: the server closed the connection in the middle of a reply.");
                }

                return;
            }
        }
    }
}
