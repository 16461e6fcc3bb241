using System.Buffers;
using System.Text;
using ControlPlane.Redis.Protocol;

namespace ControlPlane.Redis.Tests.Protocol;

public sealed class RespCommandWriterTests
{
    [Fact]
    public void Encodes_a_command_as_an_array_of_bulk_strings()
    {
        Assert.Equal("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n", Encode("SET", "k", "value"));
    }

    [Fact]
    public void Encodes_a_command_without_arguments()
    {
        Assert.Equal("*1\r\n$4\r\nPING\r\n", Encode("PING"));
    }

    [Fact]
    public void Encodes_strings_as_utf8_and_counts_bytes_not_chars()
    {
        Assert.Equal("*2\r\n$4\r\nECHO\r\n$7\r\nh\u00e9\u20ac!\r\n", Encode("ECHO", "h\u00e9\u20ac!"));
    }

    [Fact]
    public void Encodes_integers_in_decimal()
    {
        Assert.Equal(
            "*4\r\n$4\r\nNUMS\r\n$1\r\n0\r\n$20\r\n-9223372036854775808\r\n$19\r\n9223372036854775807\r\n",
            Encode("NUMS", 0, long.MinValue, long.MaxValue));
    }

    [Fact]
    public void Encodes_binary_arguments_unchanged()
    {
        var payload = new byte[] { 0, 13, 10, 255, 36, 42 };
        var writer = new ArrayBufferWriter<byte>();

        RespCommandWriter.Write(writer, "SET", ["k", payload, new ReadOnlyMemory<byte>(payload, 1, 2)]);

        var expected = "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\n"u8.ToArray()
            .Concat(payload).Concat("\r\n$2\r\n\r\n\r\n"u8.ToArray()).ToArray();
        Assert.Equal(expected, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Encodes_the_default_argument_as_an_empty_string()
    {
        Assert.Equal("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", Encode("ECHO", default(RedisArgument)));
    }

    [Fact]
    public void Encodes_a_large_argument_through_a_small_segment_writer()
    {
        var big = new string('x', 300_000);
        var writer = new ArrayBufferWriter<byte>(16);

        RespCommandWriter.Write(writer, "SET", ["k", big]);

        Assert.Equal($"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$300000\r\n{big}\r\n", Encoding.UTF8.GetString(writer.WrittenSpan));
    }

    [Fact]
    public void Round_trips_through_the_parser()
    {
        var writer = new ArrayBufferWriter<byte>();
        RespCommandWriter.Write(writer, "HSET", ["h", "f", 12]);
        var buffer = new ReadOnlySequence<byte>(writer.WrittenMemory);

        Assert.True(RespParser.TryParse(ref buffer, out var value));

        Assert.Equal(["HSET", "h", "f", "12"], value.AsArray()!.Select(v => v.AsString()));
    }

    [Fact]
    public void Rejects_null_text_when_the_argument_is_built()
    {
        Assert.Throws<ArgumentNullException>(() => RedisArgument.FromString(null!));
        Assert.Throws<ArgumentNullException>(() => (RedisArgument)(byte[])null!);
    }

    private static string Encode(string command, params RedisArgument[] arguments)
    {
        var writer = new ArrayBufferWriter<byte>();
        RespCommandWriter.Write(writer, command, arguments);
        return Encoding.UTF8.GetString(writer.WrittenSpan);
    }
}
