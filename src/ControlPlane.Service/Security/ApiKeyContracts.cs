using ControlPlane.Service.Audit;
using ControlPlane.Service.Grains;

namespace ControlPlane.Service.Security;

/// <summary>One API key as stored: never the secret, only its SHA-256.</summary>
/// <param name="Id">The key's id (12 lower-case letters and digits), the middle part of the token.</param>
/// <param name="Name">Who or what holds it: the principal recorded for its calls.</param>
/// <param name="Roles">The roles it grants (<see cref="Security.Roles"/>).</param>
/// <param name="SecretHash">SHA-256 of the secret's 32 random bytes.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="CreatedBy">The principal that created it.</param>
/// <param name="ExpiresAt">When it stops working; null for never.</param>
[Immutable]
public sealed record ApiKeyRecord(string Id, string Name, string[] Roles, byte[] SecretHash, DateTimeOffset CreatedAt, string CreatedBy,
    DateTimeOffset? ExpiresAt)
{
    /// <summary>When it was revoked; null while it is live.</summary>
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>The principal that revoked it.</summary>
    public string? RevokedBy { get; init; }

    /// <summary>Why it was revoked.</summary>
    public string? RevokeReason { get; init; }
}

/// <summary>Every key with the store's version (bumped by each change): what nodes cache.</summary>
[Immutable]
public sealed record ApiKeySnapshot(long Version, IReadOnlyList<ApiKeyRecord> Keys);

/// <summary>A key to create (the caller generated the secret and sends only its hash).</summary>
[Immutable]
public sealed record ApiKeyCreation(ApiKeyRecord Key, AdminActor Actor, string Reason);

/// <summary>Persisted state of the key store.</summary>
[GenerateSerializer, Alias("cp.ApiKeyStoreState")]
public sealed class ApiKeyStoreState
{
    /// <summary>Every key ever created (revoked ones stay, for the record), oldest first.</summary>
    [Id(0)]
    public List<ApiKeyRecord> Keys { get; set; } = [];

    /// <summary>Bumped by each change.</summary>
    [Id(1)]
    public long Version { get; set; }

    /// <summary>Audit entries of changes persisted here and not yet known to be in the trail (written with the change).</summary>
    [Id(2)]
    public AuditOutboxState? AuditOutbox { get; set; }
}

/// <summary>The cluster's API keys (one grain, key <see cref="ApiKeyStoreGrain.Key"/>). Changes are persisted before
/// they are answered and pushed to every subscribed node.</summary>
[Alias("cp.IApiKeyStoreGrain")]
public interface IApiKeyStoreGrain : IGrainWithStringKey
{
    /// <summary>Adds a key (idempotent: the same id and hash again returns it unchanged) and audits <c>key.create</c>;
    /// a conflict on <c>name</c> when an active (unrevoked, unexpired) key already has its name.</summary>
    [Alias("create")]
    Task<ApiKeyRecord> CreateAsync(ApiKeyCreation creation);

    /// <summary>Adds a bootstrap key: when <paramref name="onlyIfEmpty"/>, only if the store holds no key at all
    /// (returns null otherwise); else only if no key with its id exists (a configured key, ensured by every node).</summary>
    [Alias("bootstrap")]
    Task<ApiKeyRecord?> BootstrapAsync(ApiKeyRecord key, bool onlyIfEmpty);

    /// <summary>Revokes a key (idempotent) and audits <c>key.revoke</c>.</summary>
    [Alias("revoke")]
    Task<ApiKeyRecord> RevokeAsync(string id, AdminActor actor, string reason);

    /// <summary>Every key and the version.</summary>
    [Alias("snapshot"), ReadOnly]
    Task<ApiKeySnapshot> GetSnapshotAsync();

    /// <summary>One key by id (revoked and expired ones included), or null when there is none.</summary>
    [Alias("get"), ReadOnly]
    Task<ApiKeyRecord?> GetAsync(string id);

    /// <summary>The version only (the nodes' cheap poll).</summary>
    [Alias("version"), ReadOnly]
    Task<long> GetVersionAsync();

    /// <summary>Subscribes a node's cache to changes (renewed by the node) and returns the current snapshot.</summary>
    [Alias("subscribe")]
    Task<ApiKeySnapshot> SubscribeAsync(IApiKeyObserver observer);
}

/// <summary>A node's key cache, told of every change.</summary>
[Alias("cp.IApiKeyObserver")]
public interface IApiKeyObserver : IGrainObserver
{
    /// <summary>The store changed: here is all of it.</summary>
    [Alias("keys")]
    Task OnKeysChangedAsync(ApiKeySnapshot snapshot);
}
