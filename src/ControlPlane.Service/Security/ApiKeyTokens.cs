using System.Buffers.Text;
using System.Security.Cryptography;

namespace ControlPlane.Service.Security;

/// <summary>The API key format, <c>cpk_&lt;12-char id&gt;_&lt;base64url secret&gt;</c>: the id names the stored key, the
/// secret is 32 random bytes (256 bits). Only the secret's SHA-256 is stored. A fast hash is right here: the secret is
/// random and 256 bits long, so nothing short of trying 2^255 secrets per key finds it; slow password hashes (bcrypt,
/// Argon2) exist to stretch low-entropy human passwords and would only make every authentication slower.</summary>
internal static class ApiKeyTokens
{
    /// <summary>Every API key starts with this.</summary>
    public const string Prefix = "cpk_";

    /// <summary>Characters in a key id.</summary>
    public const int IdLength = 12;

    /// <summary>Random bytes in a secret.</summary>
    public const int SecretBytes = 32;

    /// <summary>Characters of a whole token: prefix, id, '_', 43 base64url characters.</summary>
    public const int TokenLength = 4 + IdLength + 1 + 43;

    private const string IdAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A new key: its id, the token to hand out once, and the hash to store.</summary>
    public static (string Id, string Token, byte[] Hash) Generate()
    {
        var id = RandomNumberGenerator.GetString(IdAlphabet, IdLength);
        Span<byte> secret = stackalloc byte[SecretBytes];
        RandomNumberGenerator.Fill(secret);
        var token = $"{Prefix}{id}_{Base64Url.EncodeToString(secret)}";
        return (id, token, SHA256.HashData(secret));
    }

    /// <summary>Splits a token into its id and the SHA-256 of its secret; false when it is not a well-formed key.</summary>
    public static bool TryParse(ReadOnlySpan<char> token, out string id, out byte[] hash)
    {
        id = "";
        hash = [];
        if (token.Length != TokenLength || !token.StartsWith(Prefix, StringComparison.Ordinal) || token[4 + IdLength] != '_')
        {
            return false;
        }

        var idPart = token.Slice(4, IdLength);
        foreach (var c in idPart)
        {
            if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        Span<byte> secret = stackalloc byte[SecretBytes + 2];
        if (Base64Url.DecodeFromChars(token[(4 + IdLength + 1)..], secret, out var consumed, out var written) is not System.Buffers.OperationStatus.Done
            || written != SecretBytes || consumed != TokenLength - (4 + IdLength + 1))
        {
            return false;
        }

        // One spelling per secret: the last character's two unused bits must be zero (else two tokens would be one key).
        Span<char> canonical = stackalloc char[TokenLength - (4 + IdLength + 1)];
        if (!Base64Url.TryEncodeToChars(secret[..SecretBytes], canonical, out _) || !canonical.SequenceEqual(token[(4 + IdLength + 1)..]))
        {
            return false;
        }

        id = idPart.ToString();
        hash = SHA256.HashData(secret[..SecretBytes]);
        return true;
    }

    /// <summary>True when <paramref name="token"/> looks like an API key (so the API key scheme handles it).</summary>
    public static bool LooksLikeKey(ReadOnlySpan<char> token) => token.StartsWith(Prefix, StringComparison.Ordinal);
}
