namespace ControlPlane.Service.Security;

/// <summary>Authentication of a node: JWT validation, API key caching and propagation, the bootstrap admin key and the
/// auditing of refused calls (<c>docs/security.md</c>).</summary>
public sealed class SecurityOptions
{
    /// <summary>The JWT issuer (<c>iss</c>) accepted; with <see cref="JwtAudience"/> and <see cref="JwtKeyFile"/> it
    /// enables JWT bearer tokens. Null (the default) accepts API keys only.</summary>
    public string? JwtIssuer { get; set; }

    /// <summary>The JWT audience (<c>aud</c>) accepted. Required with <see cref="JwtIssuer"/>.</summary>
    public string? JwtAudience { get; set; }

    /// <summary>The key that signs accepted JWTs: a PEM public key (RSA or EC, <c>-----BEGIN PUBLIC KEY-----</c>), or
    /// else the file's bytes as an HMAC key of at least 32 bytes. Required with <see cref="JwtIssuer"/>.</summary>
    public string? JwtKeyFile { get; set; }

    /// <summary>How often a node compares its cached key store version with the store's (the fallback when a push was
    /// missed). A revocation takes effect on every node within this plus one grain call.
    /// <value>Must be between 100 ms and 1 min. Defaults to 2 s.</value></summary>
    public TimeSpan KeyPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Verified API key tokens a node remembers (token to principal), so a known key costs no hashing.
    /// <value>Must be between 16 and 1,000,000. Defaults to 10,000.</value></summary>
    public int MaxCachedTokens { get; set; } = 10_000;

    /// <summary>How often refused calls are written to the audit trail, aggregated per credential, address and action.
    /// <value>Must be between 1 s and 1 h. Defaults to 1 min.</value></summary>
    public TimeSpan DenialFlushPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Distinct (credential, address, action) groups of refused calls kept per period; more are counted in one
    /// overflow group. <value>Must be between 1 and 100,000. Defaults to 1,000.</value></summary>
    public int MaxDenialGroups { get; set; } = 1_000;

    /// <summary>A configured bootstrap admin key (a whole <c>cpk_</c> token, from <c>CONTROLPLANE_ADMIN_KEY</c> or
    /// <c>--admin-key-file</c>): every node ensures its hash is in the store. Null generates one on first start.</summary>
    public string? BootstrapKey { get; set; }

    /// <summary>Where a generated bootstrap admin key is written (mode 0600), e.g. <c>data/admin.key</c>; null generates
    /// none (a data-plane client node).</summary>
    public string? BootstrapKeyPath { get; set; }

    /// <summary>True when JWTs are accepted.</summary>
    public bool JwtEnabled => JwtIssuer is not null;

    /// <summary>Checks every value; throws naming the first bad one.</summary>
    public SecurityOptions Validate()
    {
        if (JwtIssuer is not null || JwtAudience is not null || JwtKeyFile is not null)
        {
            if (string.IsNullOrWhiteSpace(JwtIssuer) || string.IsNullOrWhiteSpace(JwtAudience) || string.IsNullOrWhiteSpace(JwtKeyFile))
            {
                throw new ArgumentException("JWT validation needs all of the issuer, the audience and the key file.", nameof(JwtIssuer));
            }
        }

        Check(KeyPollInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(1), nameof(KeyPollInterval));
        Check(DenialFlushPeriod, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), nameof(DenialFlushPeriod));
        if (MaxCachedTokens is < 16 or > 1_000_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxCachedTokens), MaxCachedTokens, "SecurityOptions.MaxCachedTokens must be between 16 and 1,000,000.");
        }

        if (MaxDenialGroups is < 1 or > 100_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDenialGroups), MaxDenialGroups, "SecurityOptions.MaxDenialGroups must be between 1 and 100,000.");
        }

        if (BootstrapKey is not null && !ApiKeyTokens.TryParse(BootstrapKey, out _, out _))
        {
            throw new ArgumentException("The bootstrap admin key is not an API key (cpk_<12-char id>_<43-char base64url secret>).", nameof(BootstrapKey));
        }

        return this;
    }

    private static void Check(TimeSpan value, TimeSpan min, TimeSpan max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"SecurityOptions.{name} must be between {min} and {max}.");
        }
    }
}
