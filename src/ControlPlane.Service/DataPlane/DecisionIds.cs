using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using ControlPlane.Domain.Routing;

namespace ControlPlane.Service.DataPlane;

/// <summary>What a verified decision id says about its decision.</summary>
/// <param name="NodeTag">The issuing node's per-start tag.</param>
/// <param name="Number">The decision's number on that node (positive).</param>
/// <param name="RequestKey">64-bit hash of the request's <c>request_id</c> (<see cref="DecisionIds.RequestKey"/>); 0
/// when the request had none.</param>
/// <param name="Attempt">The request's attempt number.</param>
/// <param name="IssuedAtUnixMs">When the decision was made (Unix milliseconds).</param>
/// <param name="Key">The first 64 bits of the MAC: unique per decision, the grains' duplicate key. Never 0.</param>
/// <param name="Reason">Why the decision went where it went; null when the id does not say (a version-2 id, or an
/// outcome without a decision).</param>
/// <param name="PrimaryIndex">The fleet index of the class's first primary when the decision was made (what it would
/// have used); -1 when the id does not say or the class had none.</param>
internal readonly record struct DecisionClaim(uint NodeTag, long Number, long RequestKey, int Attempt, long IssuedAtUnixMs, long Key,
    RouteReason? Reason = null, int PrimaryIndex = -1);

/// <summary>
/// Decision ids every node of the cluster can verify. An id (version 3) is the base64url (no padding) of a fixed
/// 48-byte record: version (1 byte, 3), the issuing node's per-start tag (4), the decision number (8), the request key
/// (8), the attempt (2), the issue time in Unix milliseconds (6), the route reason code (1, <see cref="RouteReason"/>),
/// the fleet index of the class's first primary (2, 0xFFFF for none), then the 16-byte SipHash-2-4-128 tag
/// (<see cref="SipHash128"/>) under a key derived from the cluster's decision key (HKDF-SHA256) over those 32 bytes,
/// the decision's endpoint id, a zero byte and its workload class (UTF-8). Version-2 ids (45 bytes, 60 characters:
/// the same record without the reason and primary) still verify, so outcomes of decisions made by nodes of the
/// previous release are accepted through a rolling upgrade; their claim has no reason and no primary. An
/// outcome verifies only with the endpoint and class its decision chose, so an outcome naming another endpoint or
/// class (or a forged or corrupted id) is refused. Thread-safe; issuing allocates only the id string.
/// </summary>
internal sealed class DecisionIds
{
    /// <summary>Characters of every id this release issues (version 3).</summary>
    internal const int IdLength = 64;

    /// <summary>Characters of a version-2 id (the previous release's), still verified.</summary>
    internal const int Version2IdLength = 60;

    /// <summary>Smallest and largest decision key, in bytes.</summary>
    internal const int MinKeyBytes = 32;

    /// <summary>Largest decision key, in bytes.</summary>
    internal const int MaxKeyBytes = 64;

    /// <summary>Largest <c>request_id</c> accepted, in characters.</summary>
    internal const int MaxRequestIdLength = 256;

    private const byte Version = 3;
    private const byte Version2 = 2;
    private const int RecordBytes = 32;
    private const int Version2RecordBytes = 29;
    private const int MacBytes = 16;
    private const int TotalBytes = RecordBytes + MacBytes;
    private const int Version2TotalBytes = Version2RecordBytes + MacBytes;
    private const ushort NoPrimary = ushort.MaxValue;
    private const int MaxStackInput = 512;
    private const long MaxIssueMs = (1L << 48) - 1;

    // The MAC key: 128 bits derived from the cluster's decision key, once.
    private readonly ulong _k0;
    private readonly ulong _k1;

    /// <summary>Uses <paramref name="key"/> (32-64 bytes), which every node of the cluster shares.</summary>
    public DecisionIds(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length is < MinKeyBytes or > MaxKeyBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(key), key.Length, $"A decision key has {MinKeyBytes} to {MaxKeyBytes} bytes.");
        }

        Span<byte> mac = stackalloc byte[SipHash128.KeyBytes];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key, mac, salt: [], "controlplane decision-id mac v2"u8);
        _k0 = BinaryPrimitives.ReadUInt64LittleEndian(mac);
        _k1 = BinaryPrimitives.ReadUInt64LittleEndian(mac[8..]);
        CryptographicOperations.ZeroMemory(mac);
    }

    /// <summary>Parses a configured key: base64 (or base64url) of 32 to 64 bytes; null when it is not one.</summary>
    public static byte[]? ParseKey(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > 128)
        {
            return null;
        }

        var normalized = text.Trim().Replace('-', '+').Replace('_', '/');
        normalized = normalized.PadRight(normalized.Length + ((4 - (normalized.Length % 4)) % 4), '=');
        Span<byte> bytes = stackalloc byte[96];
        return Convert.TryFromBase64String(normalized, bytes, out var written) && written is >= MinKeyBytes and <= MaxKeyBytes
            ? bytes[..written].ToArray()
            : null;
    }

    /// <summary>The request key of a <c>request_id</c>: FNV-1a 64 over its UTF-16 code units; 0 for none (a non-empty
    /// id never maps to 0). The same on every node, so attempts of one request routed by different nodes correlate.</summary>
    public static long RequestKey(string? requestId)
    {
        if (string.IsNullOrEmpty(requestId))
        {
            return 0;
        }

        var hash = 14695981039346656037UL;
        foreach (var c in requestId)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash == 0 ? 1 : (long)hash;
    }

    /// <summary>Issues the id of decision <paramref name="number"/> for <paramref name="endpointId"/> (empty when the
    /// decision has no endpoint) and <paramref name="workloadClass"/>, made for <paramref name="reason"/> while the
    /// class's first primary was the endpoint at fleet index <paramref name="primaryIndex"/> (-1: none).</summary>
    public string Issue(uint nodeTag, long number, long requestKey, int attempt, DateTimeOffset issuedAt, string endpointId, string workloadClass,
        RouteReason reason, int primaryIndex)
    {
        Span<byte> id = stackalloc byte[TotalBytes];
        id[0] = Version;
        BinaryPrimitives.WriteUInt32BigEndian(id[1..], nodeTag);
        BinaryPrimitives.WriteInt64BigEndian(id[5..], number);
        BinaryPrimitives.WriteInt64BigEndian(id[13..], requestKey);
        BinaryPrimitives.WriteUInt16BigEndian(id[21..], (ushort)Math.Clamp(attempt, 0, ushort.MaxValue));
        WriteUInt48(id[23..], Math.Clamp(issuedAt.ToUnixTimeMilliseconds(), 0, MaxIssueMs));
        id[29] = (byte)reason;
        BinaryPrimitives.WriteUInt16BigEndian(id[30..], primaryIndex is >= 0 and < NoPrimary ? (ushort)primaryIndex : NoPrimary);
        Mac(id[..RecordBytes], endpointId, workloadClass, id[RecordBytes..]);
        return Base64Url.EncodeToString(id);
    }

    /// <summary>Verifies <paramref name="decisionId"/> against the outcome's endpoint and class. False for anything
    /// that is not an id of this cluster for exactly that endpoint and class (length, encoding, version, MAC). Version-3
    /// ids and the previous release's version-2 ids verify; a version-2 claim has no reason and no primary.</summary>
    public bool TryVerify(string decisionId, string endpointId, string workloadClass, out DecisionClaim claim)
    {
        claim = default;
        // The length first: nothing from the wire sizes a buffer. The length names the version it must carry.
        var (idLength, totalBytes, recordBytes, version) = decisionId.Length switch
        {
            IdLength => (IdLength, TotalBytes, RecordBytes, Version),
            Version2IdLength => (Version2IdLength, Version2TotalBytes, Version2RecordBytes, Version2),
            _ => (0, 0, 0, (byte)0),
        };
        if (idLength == 0)
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[TotalBytes];
        var id = buffer[..totalBytes];
        if (Base64Url.DecodeFromChars(decisionId, id, out var consumed, out var written) != OperationStatus.Done
            || consumed != idLength || written != totalBytes || id[0] != version)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[MacBytes];
        Mac(id[..recordBytes], endpointId, workloadClass, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, id[recordBytes..]))
        {
            return false;
        }

        var number = BinaryPrimitives.ReadInt64BigEndian(id[5..]);
        if (number <= 0)
        {
            return false;
        }

        RouteReason? reason = null;
        var primary = -1;
        if (version == Version)
        {
            // A code this release does not know (a newer node's) reads as unknown rather than failing the outcome.
            reason = id[29] < RouteReasonNames.All.Count ? (RouteReason)id[29] : null;
            var index = BinaryPrimitives.ReadUInt16BigEndian(id[30..]);
            primary = index == NoPrimary ? -1 : index;
        }

        var key = BinaryPrimitives.ReadInt64BigEndian(id[recordBytes..]);
        claim = new DecisionClaim(
            BinaryPrimitives.ReadUInt32BigEndian(id[1..]),
            number,
            BinaryPrimitives.ReadInt64BigEndian(id[13..]),
            BinaryPrimitives.ReadUInt16BigEndian(id[21..]),
            ReadUInt48(id[23..]),
            key == 0 ? 1 : key,
            reason,
            primary);
        return true;
    }

    private void Mac(ReadOnlySpan<byte> record, string endpointId, string workloadClass, Span<byte> destination)
    {
        var length = record.Length + Encoding.UTF8.GetMaxByteCount(endpointId.Length) + 1 + Encoding.UTF8.GetMaxByteCount(workloadClass.Length);
        byte[]? rented = null;
        // Sized to the message (the runtime zeroes a stack buffer: a fixed 512 bytes would cost that per decision).
        var input = length <= MaxStackInput ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            record.CopyTo(input);
            var at = record.Length;
            at += Encoding.UTF8.GetBytes(endpointId, input[at..]);
            input[at++] = 0;
            at += Encoding.UTF8.GetBytes(workloadClass, input[at..]);
            SipHash128.Compute(_k0, _k1, input[..at], destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static void WriteUInt48(Span<byte> destination, long value)
    {
        for (var i = 5; i >= 0; i--)
        {
            destination[i] = (byte)value;
            value >>= 8;
        }
    }

    private static long ReadUInt48(ReadOnlySpan<byte> source)
    {
        long value = 0;
        for (var i = 0; i < 6; i++)
        {
            value = (value << 8) | source[i];
        }

        return value;
    }
}
