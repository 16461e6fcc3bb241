using ControlPlane.Service.Admin;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ControlPlane.Service.Security;

/// <summary>Creating, listing and revoking API keys: validation, then the key store grain (which persists, audits and
/// pushes the change). The secret is generated here, returned once and never sent to the store: only its hash is.</summary>
internal sealed class KeyOperations(IGrainFactory grains, TimeProvider time, ILogger<KeyOperations>? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<KeyOperations>.Instance;

    /// <summary>Longest key name.</summary>
    internal const int MaxNameLength = 64;

    /// <summary>Longest key lifetime (ten years).</summary>
    internal const long MaxTtlSeconds = 10L * 366 * 24 * 3600;

    private IApiKeyStoreGrain Store => grains.GetGrain<IApiKeyStoreGrain>(ApiKeyStoreGrain.Key);

    /// <summary>Creates a key; the answer holds the token, shown this once.</summary>
    public async Task<ApiKeyCreated> CreateAsync(string? name, IReadOnlyList<string>? roles, long? ttlSeconds, string? reason, AdminActor actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var validName = RequireName(name);
        var validRoles = RequireRoles(roles);
        TimeSpan? ttl = ttlSeconds switch
        {
            null => null,
            <= 0 => throw new AdminException(AdminErrorKind.Invalid, "ttlSeconds", "must be positive; omit it for a key that does not expire"),
            > MaxTtlSeconds => throw new AdminException(AdminErrorKind.Invalid, "ttlSeconds", $"must be at most {MaxTtlSeconds} (ten years)"),
            _ => TimeSpan.FromSeconds(ttlSeconds.Value),
        };
        var validReason = AdminOperations.RequireReason(reason);
        var (id, token, hash) = ApiKeyTokens.Generate();
        var now = time.GetUtcNow();
        var record = new ApiKeyRecord(id, validName, validRoles, hash, now, actor.Principal, now + ttl);
        var stored = await Store.CreateAsync(new ApiKeyCreation(record, actor, validReason));
        Telemetry.TelemetryLog.KeyCreated(_logger, stored.Id, stored.Name, actor.Principal, string.Join(',', stored.Roles));
        return new ApiKeyCreated(stored.Id, stored.Name, stored.Roles, token, stored.CreatedAt, stored.ExpiresAt);
    }

    /// <summary>Every key (revoked ones too), without secrets.</summary>
    public async Task<IReadOnlyList<ApiKeyView>> ListAsync() =>
        [.. (await Store.GetSnapshotAsync()).Keys.Select(ApiKeyView.From)];

    /// <summary>Revokes a key (again: no change).</summary>
    public async Task<ApiKeyView> RevokeAsync(string id, string? reason, AdminActor actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var validReason = AdminOperations.RequireReason(reason);
        if (id.Length != ApiKeyTokens.IdLength || !id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)))
        {
            throw new AdminException(AdminErrorKind.NotFound, "id", "unknown key: an id is 12 lower-case letters and digits");
        }

        var revoked = ApiKeyView.From(await Store.RevokeAsync(id, actor, validReason));
        Telemetry.TelemetryLog.KeyRevoked(_logger, id, actor.Principal);
        return revoked;
    }

    private static string RequireName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new AdminException(AdminErrorKind.Invalid, "name", "is required: who or what holds the key (the principal its calls are recorded as)");
        }

        if (name.Length > MaxNameLength || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@' or ':'))
        {
            throw new AdminException(AdminErrorKind.Invalid, "name", $"must be 1 to {MaxNameLength} ASCII letters, digits or . _ - @ :");
        }

        if (name.StartsWith("system:", StringComparison.Ordinal) || name == "anonymous")
        {
            throw new AdminException(AdminErrorKind.Invalid, "name", "is reserved");
        }

        return name;
    }

    private static string[] RequireRoles(IReadOnlyList<string>? roles)
    {
        if (roles is null || roles.Count == 0)
        {
            throw new AdminException(AdminErrorKind.Invalid, "roles", $"is required: one or more of {string.Join(", ", Roles.All)}");
        }

        if (roles.Count > Roles.All.Count)
        {
            throw new AdminException(AdminErrorKind.Invalid, "roles", $"must list at most {Roles.All.Count} roles");
        }

        for (var i = 0; i < roles.Count; i++)
        {
            if (!Roles.IsKnown(roles[i]))
            {
                throw new AdminException(AdminErrorKind.Invalid, $"roles[{i}]", $"unknown role; expected one of {string.Join(", ", Roles.All)}");
            }
        }

        return [.. roles.Distinct(StringComparer.Ordinal)];
    }
}

/// <summary>A created key: the only answer that shows its token.</summary>
/// <param name="Id">The key's id.</param>
/// <param name="Name">Its name (the principal).</param>
/// <param name="Roles">Its roles.</param>
/// <param name="Key">The token to send as <c>Authorization: Bearer</c>; not retrievable later.</param>
/// <param name="CreatedAt">When.</param>
/// <param name="ExpiresAt">When it stops working, if ever.</param>
public sealed record ApiKeyCreated(string Id, string Name, string[] Roles, string Key, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

/// <summary>A key as listed (never its secret or hash).</summary>
/// <param name="Id">The key's id.</param>
/// <param name="Name">Its name (the principal).</param>
/// <param name="Roles">Its roles.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="CreatedBy">Who created it.</param>
/// <param name="ExpiresAt">When it stops working, if ever.</param>
/// <param name="RevokedAt">When it was revoked, if it was.</param>
/// <param name="RevokedBy">Who revoked it.</param>
public sealed record ApiKeyView(string Id, string Name, string[] Roles, DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt, string? RevokedBy)
{
    internal static ApiKeyView From(ApiKeyRecord k) => new(k.Id, k.Name, k.Roles, k.CreatedAt, k.CreatedBy, k.ExpiresAt, k.RevokedAt, k.RevokedBy);
}
