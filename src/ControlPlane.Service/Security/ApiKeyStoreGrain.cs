using ControlPlane.Service.Admin;
using ControlPlane.Service.Audit;
using ControlPlane.Service.Grains;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Utilities;

namespace ControlPlane.Service.Security;

/// <summary>The key store: creates, revokes and lists API keys. Each change is written (etag-checked) with its audit
/// entry staged in the same write (the audit outbox), answered once written, its entry delivered to the trail after
/// (retried until it lands), then pushed to the subscribed nodes in parallel (each bounded by
/// <see cref="ControlPlaneOptions.PushTimeout"/>); nodes also poll the version, so a node that missed a push catches up.</summary>
[GrainType("api-keys")]
internal sealed partial class ApiKeyStoreGrain(
    [PersistentState("api-keys", GrainStorage.Name)] IPersistentState<ApiKeyStoreState> state, IOptions<ControlPlaneOptions> options,
    TimeProvider time, ILogger<ApiKeyStoreGrain> logger) : Grain, IApiKeyStoreGrain
{
    /// <summary>The one key store's grain key.</summary>
    public const string Key = "api-keys";

    /// <summary>Most keys the store holds (revoked ones included): bounds what every node caches.</summary>
    internal const int MaxKeys = 10_000;

    private readonly ObserverManager<IApiKeyObserver> _observers =
        new(options.Value.SubscriptionExpiry, logger) { GetDateTime = () => time.GetUtcNow().UtcDateTime };

    private GrainAuditOutbox? _auditOutbox;

    private ApiKeyStoreState State => state.State;

    private GrainAuditOutbox AuditOutbox => _auditOutbox ??= new GrainAuditOutbox(this, GrainFactory, () => State.AuditOutbox ??= new AuditOutboxState(), logger);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        AuditOutbox.Resume();
        return Task.CompletedTask;
    }

    public async Task<ApiKeyRecord> CreateAsync(ApiKeyCreation creation)
    {
        ArgumentNullException.ThrowIfNull(creation);
        var key = creation.Key;
        if (Find(key.Id) is { } existing)
        {
            return existing.SecretHash.AsSpan().SequenceEqual(key.SecretHash) && existing.Name == key.Name
                ? existing
                : throw new AdminException(AdminErrorKind.Conflict, "id", $"key '{key.Id}' exists");
        }

        var now = time.GetUtcNow();
        if (State.Keys.Find(k => k.Name == key.Name && k.RevokedAt is null && (k.ExpiresAt is null || k.ExpiresAt > now)) is { } holder)
        {
            // One active key per name: a name is the principal the two-person rules compare, so a second key under it
            // would be the same person to them, and reusing a name must not let one key speak for another's holder.
            throw new AdminException(AdminErrorKind.Conflict, "name",
                $"the active key '{holder.Id}' is named '{key.Name}'; revoke it (or let it expire) or choose another name");
        }

        RequireRoom();
        State.Keys.Add(key);
        State.Version++;
        await CommitAsync(Entry(creation.Actor, "key.create", key.Id, creation.Reason, "",
            $"name={key.Name} roles={string.Join(',', key.Roles)} expires={key.ExpiresAt?.ToString("O") ?? "never"}"));
        await PushAsync();
        return key;
    }

    public async Task<ApiKeyRecord?> BootstrapAsync(ApiKeyRecord key, bool onlyIfEmpty)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (onlyIfEmpty ? State.Keys.Count > 0 : Find(key.Id) is not null)
        {
            return onlyIfEmpty ? null : Find(key.Id);
        }

        RequireRoom();
        State.Keys.Add(key);
        State.Version++;
        await CommitAsync(Entry(AdminActor.System("bootstrap"), "key.create", key.Id, "bootstrap admin key", "",
            $"name={key.Name} roles={string.Join(',', key.Roles)} expires=never"));
        await PushAsync();
        return key;
    }

    public async Task<ApiKeyRecord> RevokeAsync(string id, AdminActor actor, string reason)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var index = State.Keys.FindIndex(k => k.Id == id);
        if (index < 0)
        {
            throw new AdminException(AdminErrorKind.NotFound, "id", $"unknown key '{id}'");
        }

        var key = State.Keys[index];
        if (key.RevokedAt is not null)
        {
            return key;
        }

        var revoked = key with { RevokedAt = time.GetUtcNow(), RevokedBy = actor.Principal, RevokeReason = reason };
        State.Keys[index] = revoked;
        State.Version++;
        await CommitAsync(Entry(actor, "key.revoke", id, reason, $"name={key.Name} live", $"name={key.Name} revoked"));
        await PushAsync();
        return revoked;
    }

    public Task<ApiKeySnapshot> GetSnapshotAsync() => Task.FromResult(Snapshot());

    public Task<ApiKeyRecord?> GetAsync(string id) => Task.FromResult(Find(id));

    public Task<long> GetVersionAsync() => Task.FromResult(State.Version);

    public Task<ApiKeySnapshot> SubscribeAsync(IApiKeyObserver observer)
    {
        _observers.Subscribe(observer, observer);
        return Task.FromResult(Snapshot());
    }

    private ApiKeyRecord? Find(string id) => State.Keys.Find(k => k.Id == id);

    private void RequireRoom()
    {
        if (State.Keys.Count >= MaxKeys)
        {
            throw new AdminException(AdminErrorKind.Conflict, "keys", $"the store holds {MaxKeys} keys, its limit");
        }
    }

    private ApiKeySnapshot Snapshot() => new(State.Version, [.. State.Keys]);

    private static AuditEntry Entry(AdminActor actor, string action, string target, string reason, string before, string after) =>
        new(0, default, actor, action, target, reason, before, after);

    // A change and its audit entry are one write (the outbox in this grain's state), then the entry goes to the trail:
    // a change that is persisted always reaches the trail, retried until it does. A full outbox refuses the change unapplied.
    private async Task CommitAsync(AuditEntry entry)
    {
        try
        {
            await AuditOutbox.EnsureRoomAsync();
        }
        catch
        {
            await state.ReadStateAsync();
            throw;
        }

        AuditOutbox.Stage(entry);
        await state.WriteOrReloadAsync(this);
        await AuditOutbox.DeliverAsync();
    }

    // Every subscriber at once, each bounded: a dead node delays nobody (it polls, and re-subscribes).
    private Task PushAsync()
    {
        _observers.ClearExpired();
        var snapshot = Snapshot();
        var timeout = options.Value.PushTimeout;
        return Task.WhenAll(_observers.Observers.Values.ToArray().Select(async observer =>
        {
            try
            {
                await observer.OnKeysChangedAsync(snapshot).WaitAsync(timeout);
            }
            catch (Exception error) when (error is not OutOfMemoryException)
            {
                LogPushFailed(logger, error);
                _observers.Unsubscribe(observer);
            }
        }));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "A node did not take the key store's push; it catches up by polling.")]
    private static partial void LogPushFailed(ILogger logger, Exception error);
}
