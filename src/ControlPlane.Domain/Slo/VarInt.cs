namespace ControlPlane.Domain.Slo;

/// <summary>LEB128 unsigned varints: seven bits a byte, low bits first (a count under 128 takes one byte).</summary>
internal static class VarInt
{
    public static void Write(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }

        output.Add((byte)value);
    }

    public static bool TryRead(ref ReadOnlySpan<byte> input, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (input.IsEmpty)
            {
                return false;
            }

            var b = input[0];
            input = input[1..];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return shift < 63 || b <= 1;
            }
        }

        return false;
    }
}
