using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using ControlPlane.Redis.Protocol;

namespace ControlPlane.Redis.Tests.Protocol;

public sealed class RespParserTests
{
    public static TheoryData<string, RespValue> ValidReplies => new()
    {
        { "+OK\r\n", RespValue.SimpleString("OK") },
        { "+\r\n", RespValue.SimpleString(string.Empty) },
        { "-ERR unknown command 'FOO'\r\n", RespValue.Error("ERR unknown command 'FOO'") },
        { "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", RespValue.Error("WRONGTYPE Operation against a key holding the wrong kind of value") },
        { ":0\r\n", RespValue.Integer(0) },
        { ":-42\r\n", RespValue.Integer(-42) },
        { ":9223372036854775807\r\n", RespValue.Integer(long.MaxValue) },
        { ":-9223372036854775808\r\n", RespValue.Integer(long.MinValue) },
        { "$5\r\nhello\r\n", RespValue.BulkString("hello") },
        { "$0\r\n\r\n", RespValue.BulkString(string.Empty) },
        { "$-1\r\n", RespValue.NullBulkString },
        { "$4\r\na\r\nb\r\n", RespValue.BulkString("a\r\nb") },
        { "*0\r\n", RespValue.Array([]) },
        { "*-1\r\n", RespValue.NullArray },
        { "*3\r\n:1\r\n$3\r\nfoo\r\n$-1\r\n", RespValue.Array([RespValue.Integer(1), RespValue.BulkString("foo"), RespValue.NullBulkString]) },
        {
            "*2\r\n*2\r\n+a\r\n-ERR b\r\n*-1\r\n",
            RespValue.Array([RespValue.Array([RespValue.SimpleString("a"), RespValue.Error("ERR b")]), RespValue.NullArray])
        },
    };

    [Theory]
    [MemberData(nameof(ValidReplies))]
    public void Parses_every_type(string wire, RespValue expected)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(wire));

        Assert.True(RespParser.TryParse(ref buffer, out var value));

        Assert.Equal(expected, value);
        Assert.True(buffer.IsEmpty);
    }

    [Theory]
    [MemberData(nameof(ValidReplies))]
    public void Waits_for_more_bytes_at_every_prefix_and_parses_across_every_split(string wire, RespValue expected)
    {
        var bytes = Encoding.UTF8.GetBytes(wire);
        for (var cut = 0; cut < bytes.Length; cut++)
        {
            var prefix = new ReadOnlySequence<byte>(bytes, 0, cut);
            Assert.False(RespParser.TryParse(ref prefix, out _), $"complete after only {cut} of {bytes.Length} bytes");
            Assert.Equal(cut, prefix.Length);

            var split = ChunkedSequence.Split(bytes, cut);
            Assert.True(RespParser.TryParse(ref split, out var value), $"incomplete when split at {cut}");
            Assert.Equal(expected, value);
            Assert.True(split.IsEmpty);
        }
    }

    [Fact]
    public void Parses_a_reply_delivered_one_byte_per_segment()
    {
        var bytes = "*3\r\n$3\r\nSET\r\n*1\r\n:7\r\n+OK\r\n"u8.ToArray();
        var buffer = ChunkedSequence.Split(bytes, [.. Enumerable.Range(1, bytes.Length)]);

        Assert.True(RespParser.TryParse(ref buffer, out var value));

        Assert.Equal(
            RespValue.Array([RespValue.BulkString("SET"), RespValue.Array([RespValue.Integer(7)]), RespValue.SimpleString("OK")]),
            value);
    }

    [Fact]
    public void Parses_consecutive_replies_and_leaves_a_partial_one()
    {
        var buffer = new ReadOnlySequence<byte>("+OK\r\n:1\r\n$5\r\nhel"u8.ToArray());

        Assert.True(RespParser.TryParse(ref buffer, out var first));
        Assert.True(RespParser.TryParse(ref buffer, out var second));
        Assert.False(RespParser.TryParse(ref buffer, out _));

        Assert.Equal(RespValue.SimpleString("OK"), first);
        Assert.Equal(RespValue.Integer(1), second);
        Assert.Equal("$5\r\nhel", Encoding.UTF8.GetString(buffer.ToArray()));
    }

    [Fact]
    public void Keeps_binary_bulk_strings_byte_for_byte()
    {
        var payload = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var wire = Encoding.ASCII.GetBytes("$256\r\n").Concat(payload).Concat("\r\n"u8.ToArray()).ToArray();
        var buffer = ChunkedSequence.Split(wire, 7, 100, 200);

        Assert.True(RespParser.TryParse(ref buffer, out var value));

        Assert.Equal(payload, value.AsBytes());
    }

    [Fact]
    public async Task Parses_a_huge_bulk_string_streamed_through_a_pipe_in_small_writes()
    {
        var payload = new byte[8 * 1024 * 1024];
        new Random(7).NextBytes(payload);
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var writer = Task.Run(async () =>
        {
            await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes($"${payload.Length}\r\n"));
            for (var offset = 0; offset < payload.Length; offset += 65_521)
            {
                await pipe.Writer.WriteAsync(payload.AsMemory(offset, Math.Min(65_521, payload.Length - offset)));
            }

            await pipe.Writer.WriteAsync("\r\n+OK\r\n"u8.ToArray());
            await pipe.Writer.CompleteAsync();
        });

        var replies = new List<RespValue>();
        while (true)
        {
            var result = await pipe.Reader.ReadAsync();
            var buffer = result.Buffer;
            while (RespParser.TryParse(ref buffer, out var value))
            {
                replies.Add(value);
            }

            pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                Assert.True(buffer.IsEmpty);
                break;
            }
        }

        await writer;
        Assert.Equal(2, replies.Count);
        Assert.Equal(payload, replies[0].AsBytes());
        Assert.Equal(RespValue.SimpleString("OK"), replies[1]);
    }

    [Theory]
    [InlineData("!3\r\nfoo\r\n", "unknown reply type")]
    [InlineData("OK\r\n", "unknown reply type")]
    [InlineData(":12a\r\n", "invalid integer")]
    [InlineData(":\r\n", "empty integer")]
    [InlineData(":-\r\n", "empty integer")]
    [InlineData(":+5\r\n", "invalid integer")]
    [InlineData(":9223372036854775808\r\n", "overflows")]
    [InlineData(":-9223372036854775809\r\n", "overflows")]
    [InlineData(":99999999999999999999\r\n", "overflows")]
    [InlineData(":123456789012345678901234\r\n", "line longer")]
    [InlineData("+OK\rX", "CR not followed by LF")]
    [InlineData("+O\nK\r\n", "bare LF")]
    [InlineData("$3\r\nfooX\r\n", "not followed by CRLF")]
    [InlineData("$3\r\nfoo\n\n", "not followed by CRLF")]
    [InlineData("$-2\r\n", "outside")]
    [InlineData("$536870913\r\n", "outside")]
    [InlineData("*-2\r\n", "outside")]
    [InlineData("*16777217\r\n", "outside")]
    [InlineData("$abc\r\n", "invalid integer")]
    [InlineData("*1\r\n?\r\n", "unknown reply type")]
    public void Rejects_malformed_input_with_a_protocol_exception(string wire, string detail)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(wire));

        var error = Assert.Throws<RedisProtocolException>(() => RespParser.TryParse(ref buffer, out _));

        Assert.Contains(detail, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_a_simple_string_line_that_never_ends()
    {
        var limits = RespLimits.Default with { MaxLineLength = 64 };
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes("+" + new string('x', 65)));

        var error = Assert.Throws<RedisProtocolException>(() => RespParser.TryParse(ref buffer, limits, out _));

        Assert.Contains("without CRLF", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_nesting_deeper_than_the_limit()
    {
        var limits = RespLimits.Default with { MaxDepth = 4 };
        var ok = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("*1\r\n", 4)) + ":1\r\n"));
        var deep = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("*1\r\n", 5)) + ":1\r\n"));

        Assert.True(RespParser.TryParse(ref ok, limits, out _));
        Assert.Throws<RedisProtocolException>(() => RespParser.TryParse(ref deep, limits, out _));
    }

    [Fact]
    public void Does_not_allocate_an_announced_array_before_its_items_arrive()
    {
        // A header claiming 16M items with nothing after it is incomplete, not an allocation of 16M slots.
        var buffer = new ReadOnlySequence<byte>("*16777216\r\n:1\r\n"u8.ToArray());
        var before = GC.GetAllocatedBytesForCurrentThread();

        Assert.False(RespParser.TryParse(ref buffer, out _));

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1024 * 1024);
    }
}
