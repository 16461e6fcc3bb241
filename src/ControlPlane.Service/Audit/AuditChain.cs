using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using ControlPlane.Service.Grains;

namespace ControlPlane.Service.Audit;

/// <summary>The audit trail's hash chain: every entry commits to all of its fields and to the previous entry's hash, so
/// editing, removing or reordering a stored entry breaks the chain from that entry on.</summary>
/// <remarks>The hash is hex SHA-256 over a canonical encoding: the tag <c>cp-audit-v1</c>, then every field in a fixed
/// order, each either a big-endian 64-bit integer or a length-prefixed string (big-endian 32-bit byte count, then UTF-8;
/// an absent string is count -1). The fields: sequence, time (UTC ticks), actor principal, the number of roles then each
/// role, credential id, source, request id, action, target, reason, before, after, eval reference, change id, previous
/// hash. Length prefixes make the encoding unambiguous: no two different entries encode to the same bytes.</remarks>
internal static class AuditChain
{
    private static readonly byte[] Tag = Encoding.UTF8.GetBytes("cp-audit-v1");

    /// <summary>The hash <paramref name="entry"/> must carry (its own <see cref="AuditEntry.Hash"/> is not an input).</summary>
    public static string Compute(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Tag);
        Add(hash, entry.Sequence);
        Add(hash, entry.At.UtcTicks);
        var actor = entry.Actor;
        Add(hash, actor?.Principal);
        var roles = actor?.Roles ?? [];
        Add(hash, roles.Length);
        foreach (var role in roles)
        {
            Add(hash, role);
        }

        Add(hash, actor?.CredentialId);
        Add(hash, actor?.Source);
        Add(hash, actor?.RequestId);
        Add(hash, entry.Action);
        Add(hash, entry.Target);
        Add(hash, entry.Reason);
        Add(hash, entry.Before);
        Add(hash, entry.After);
        Add(hash, entry.EvalRef);
        Add(hash, entry.ChangeId);
        Add(hash, entry.PreviousHash);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary><paramref name="entry"/> placed in the chain: numbered, stamped, linked to <paramref name="previousHash"/>
    /// and hashed.</summary>
    public static AuditEntry Link(AuditEntry entry, long sequence, DateTimeOffset at, string previousHash)
    {
        var placed = entry with { Sequence = sequence, At = at.ToUniversalTime(), PreviousHash = previousHash, Hash = "" };
        return placed with { Hash = Compute(placed) };
    }

    private static void Add(IncrementalHash hash, long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        hash.AppendData(bytes);
    }

    private static void Add(IncrementalHash hash, string? value)
    {
        Span<byte> length = stackalloc byte[4];
        if (value is null)
        {
            BinaryPrimitives.WriteInt32BigEndian(length, -1);
            hash.AppendData(length);
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(value);
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        hash.AppendData(length);
        hash.AppendData(bytes);
    }
}

/// <summary>Walks a trail oldest first and remembers the first place where it is not intact.</summary>
internal sealed class AuditChainWalk
{
    private string _previousHash = "";

    /// <summary>Entries seen so far.</summary>
    public long Entries { get; private set; }

    /// <summary>The sequence of the last entry seen (0 before the first).</summary>
    public long LastSequence { get; private set; }

    /// <summary>The hash of the last entry seen ("" before the first).</summary>
    public string LastHash => _previousHash;

    /// <summary>The first break found, if any; later entries are still counted but not judged.</summary>
    public AuditBreak? FirstBroken { get; private set; }

    /// <summary>Records a break found outside the entries themselves (a missing segment, a truncated head).</summary>
    public void Break(long sequence, string reason) => FirstBroken ??= new AuditBreak(sequence, reason);

    /// <summary>Checks the next entry: its sequence follows the last one, it links to the last hash, its own hash matches.</summary>
    public void Accept(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Entries++;
        var expected = LastSequence + 1;
        if (entry.Sequence != expected)
        {
            Break(expected, entry.Sequence > expected
                ? $"entries {expected}..{entry.Sequence - 1} are missing (sequence gap)"
                : $"entry {entry.Sequence} is out of order after {LastSequence}");
        }
        else if (!string.Equals(entry.PreviousHash, _previousHash, StringComparison.Ordinal))
        {
            Break(entry.Sequence, "previous-hash link broken: does not match the hash of the entry before it");
        }
        else if (!string.Equals(entry.Hash, AuditChain.Compute(entry), StringComparison.Ordinal))
        {
            Break(entry.Sequence, "hash mismatch: the entry was changed after it was written");
        }

        LastSequence = Math.Max(LastSequence, entry.Sequence);
        _previousHash = entry.Hash ?? "";
    }
}
