using System.Buffers;
using System.Buffers.Text;

namespace ControlPlane.Redis.Protocol;

/// <summary>Encodes a command as a RESP array of bulk strings, the only form Redis accepts from clients
/// that want binary safety (inline commands split on spaces).</summary>
internal static class RespCommandWriter
{
    private static ReadOnlySpan<byte> CrLf => "\r\n"u8;

    /// <summary>Writes <c>*N\r\n</c> then one <c>$len\r\nbytes\r\n</c> per word. Never throws halfway:
    /// arguments are validated when they are built, so a write cannot leave a torn command on the wire.</summary>
    public static void Write(IBufferWriter<byte> writer, string command, IReadOnlyList<RedisArgument> arguments)
    {
        WriteLength(writer, (byte)'*', arguments.Count + 1);
        WriteBulk(writer, RedisArgument.FromString(command));
        for (var i = 0; i < arguments.Count; i++)
        {
            WriteBulk(writer, arguments[i]);
        }
    }

    private static void WriteBulk(IBufferWriter<byte> writer, RedisArgument argument)
    {
        WriteLength(writer, (byte)'$', argument.ByteLength);
        argument.WriteContent(writer);
        writer.Write(CrLf);
    }

    private static void WriteLength(IBufferWriter<byte> writer, byte prefix, long length)
    {
        var span = writer.GetSpan(1 + 20 + 2);
        span[0] = prefix;
        Utf8Formatter.TryFormat(length, span[1..], out var written);
        span[1 + written] = (byte)'\r';
        span[2 + written] = (byte)'\n';
        writer.Advance(3 + written);
    }
}
