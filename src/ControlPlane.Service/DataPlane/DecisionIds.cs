using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace ControlPlane.Service.DataPlane;

/// <summary>What a verified decision id says about its decision.</summary>
/// <param name="NodeTag">The issuing node's per-start tag.</param>
/// <param name="Number">The decision's number on that node (positive).</param>
/// <param name="RequestKey">64-bit hash of the request's <c>request_id</c> (<see cref="DecisionIds.RequestKey"/>); 0
/// when the request had none.</param>
/// <param name="Attempt">The request's attempt number.</param>
/// <param name="IssuedAtUnixMs">When the decision was made (Unix milliseconds).</param>
/// <param name="Key">The first 64 bits of the MAC: unique per decision, the grains' duplicate key. Never 0.</param>
internal readonly record struct DecisionClaim(uint NodeTag, long Number, long RequestKey, int Attempt, long IssuedAtUnixMs, long Key);

/// <summary>
/// Decision ids every node of the cluster can verify. An id is the base64url (no padding) of a fixed 45-byte record:
/// version (1 byte, 2), the issuing node's per-start tag (4), the decision number (8), the request key (8), the
/// attempt (2), the issue time in Unix milliseconds (6), then the 16-byte SipHash-2-4-128 tag (<see cref="SipHash128"/>)
/// under a key derived from the cluster's decision key (HKDF-SHA256) over those 29 bytes, the decision's endpoint id,
/// a zero byte and its workload class (UTF-8). An
/// outcome verifies only with the endpoint and class its decision chose, so an outcome naming another endpoint or
/// class (or a forged or corrupted id) is refused. Thread-safe; issuing allocates only the id string.
/// </summary>
internal sealed class DecisionIds
{
    /// <summary>Characters of every id.</summary>
    internal const int IdLength = 60;

    /// <summary>Smallest and largest decision key, in bytes.</summary>
    internal const int MinKeyBytes = 32;

    /// <summary>Largest decision key, in bytes.</summary>
    internal const int MaxKeyBytes = 64;

    /// <summary>Largest <c>request_id</c> accepted, in characters.</summary>
    internal const int MaxRequestIdLength = 256;

    private const byte Version = 2;
    private const int RecordBytes = 29;
    private const int MacBytes = 16;
    private const int TotalBytes = RecordBytes + MacBytes;
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
    /// decision has no endpoint) and <paramref name="workloadClass"/>.</summary>
    public string Issue(uint nodeTag, long number, long requestKey, int attempt, DateTimeOffset issuedAt, string endpointId, string workloadClass)
    {
        Span<byte> id = stackalloc byte[TotalBytes];
        id[0] = Version;
        BinaryPrimitives.WriteUInt32BigEndian(id[1..], nodeTag);
        BinaryPrimitives.WriteInt64BigEndian(id[5..], number);
        BinaryPrimitives.WriteInt64BigEndian(id[13..], requestKey);
        BinaryPrimitives.WriteUInt16BigEndian(id[21..], (ushort)Math.Clamp(attempt, 0, ushort.MaxValue));
        WriteUInt48(id[23..], Math.Clamp(issuedAt.ToUnixTimeMilliseconds(), 0, MaxIssueMs));
        Mac(id[..RecordBytes], endpointId, workloadClass, id[RecordBytes..]);
        return Base64Url.EncodeToString(id);
    }

    /// <summary>Verifies <paramref name="decisionId"/> against the outcome's endpoint and class. False for anything
    /// that is not an id of this cluster for exactly that endpoint and class (length, encoding, version, MAC).</summary>
    public bool TryVerify(string decisionId, string endpointId, string workloadClass, out DecisionClaim claim)
    {
        claim = default;
        Span<byte> id = stackalloc byte[TotalBytes];
        // The length first: nothing from the wire sizes a buffer.
        if (decisionId.Length != IdLength
            || Base64Url.DecodeFromChars(decisionId, id, out var consumed, out var written) != OperationStatus.Done
            || consumed != IdLength || written != TotalBytes || id[0] != Version)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[MacBytes];
        Mac(id[..RecordBytes], endpointId, workloadClass, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, id[RecordBytes..]))
        {
            return false;
        }

        var number = BinaryPrimitives.ReadInt64BigEndian(id[5..]);
        if (number <= 0)
        {
            return false;
        }

        var key = BinaryPrimitives.ReadInt64BigEndian(id[RecordBytes..]);
        claim = new DecisionClaim(
            BinaryPrimitives.ReadUInt32BigEndian(id[1..]),
            number,
            BinaryPrimitives.ReadInt64BigEndian(id[13..]),
            BinaryPrimitives.ReadUInt16BigEndian(id[21..]),
            ReadUInt48(id[23..]),
            key == 0 ? 1 : key);
        return true;
    }

    private void Mac(ReadOnlySpan<byte> record, string endpointId, string workloadClass, Span<byte> destination)
    {
        var length = RecordBytes + Encoding.UTF8.GetMaxByteCount(endpointId.Length) + 1 + Encoding.UTF8.GetMaxByteCount(workloadClass.Length);
        byte[]? rented = null;
        // Sized to the message (the runtime zeroes a stack buffer: a fixed 512 bytes would cost that per decision).
        var input = length <= MaxStackInput ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            record.CopyTo(input);
            var at = RecordBytes;
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
