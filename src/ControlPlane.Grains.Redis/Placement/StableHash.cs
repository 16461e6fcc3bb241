namespace ControlPlane.Grains.Redis.Placement;

/// <summary>FNV-1a 64 over UTF-16 code units, finished with the murmur3 fmix64 avalanche. Stable across processes,
/// platforms and .NET versions (unlike <see cref="string.GetHashCode()"/>), so every silo computes the same placement.</summary>
internal static class StableHash
{
    internal const ulong OffsetBasis = 14695981039346656037UL;
    internal const ulong Prime = 1099511628211UL;

    /// <summary>Continues an FNV-1a state over <paramref name="text"/>.</summary>
    public static ulong Append(ulong state, ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            state = (state ^ (byte)c) * Prime;
            state = (state ^ (byte)(c >> 8)) * Prime;
        }

        return state;
    }

    /// <summary>Continues an FNV-1a state over one separator byte (so "ab"+"c" and "a"+"bc" differ).</summary>
    public static ulong Separator(ulong state) => (state ^ 0xFF) * Prime;

    /// <summary>The murmur3 finalizer: FNV alone mixes its last bytes poorly, which rendezvous scores would inherit.</summary>
    public static ulong Mix(ulong h)
    {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        h ^= h >> 33;
        return h;
    }
}
