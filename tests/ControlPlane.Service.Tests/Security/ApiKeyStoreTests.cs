using System.Security.Cryptography;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Audit;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Security;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Security;

/// <summary>The key store grain and a node's key cache on a real silo (SQLite) with a fake clock: keys are stored as
/// hashes, create/revoke are audited once (a retried create changes nothing), the bootstrap key is made only into an
/// empty store, and the cache refuses revoked and expired keys even when it had verified them before.</summary>
public sealed class ApiKeyStoreTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
    private readonly TestStorage _storage = new();

    public void Dispose() => _storage.Dispose();

    [Fact]
    public async Task A_key_is_stored_as_the_hash_of_its_secret_and_audited_once_even_when_the_create_is_retried()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var keys = new KeyOperations(node.Grains, _time);

        var created = await keys.CreateAsync("ops-bot", ["viewer"], ttlSeconds: 3600, "automation", TestActors.Named("root"));
        var store = node.Grains.GetGrain<IApiKeyStoreGrain>(ApiKeyStoreGrain.Key);
        var snapshot = await store.GetSnapshotAsync();
        var record = Assert.Single(snapshot.Keys);

        Assert.True(ApiKeyTokens.TryParse(created.Key, out var id, out var hash));
        Assert.Equal(created.Id, id);
        Assert.Equal(hash, record.SecretHash);
        Assert.Equal(SHA256.HashData(Base64UrlSecret(created.Key)), record.SecretHash);
        Assert.Equal((_time.GetUtcNow().AddHours(1), "root"), (record.ExpiresAt!.Value, record.CreatedBy));

        // A retried create (same id and hash, e.g. after a lost answer) is answered with the stored key, unaudited.
        var again = await store.CreateAsync(new ApiKeyCreation(record, TestActors.Named("root"), "retry"));
        Assert.Equal(record.Id, again.Id);
        Assert.Equal(snapshot.Version, await store.GetVersionAsync());
        var audit = await node.Grains.GetGrain<IAuditTrailGrain>(AuditTrailGrain.Key).ListAsync(10);
        var entry = Assert.Single(audit);
        Assert.Equal(("key.create", id, "root"), (entry.Action, entry.Target, entry.Actor.Principal));
        Assert.DoesNotContain(created.Key[17..], entry.After, StringComparison.Ordinal);

        // Another secret under an existing id is a conflict, not an overwrite.
        var clash = await Assert.ThrowsAsync<AdminException>(() => store.CreateAsync(new ApiKeyCreation(record with { SecretHash = new byte[32] }, TestActors.Named("root"), "clash")));
        Assert.Equal(AdminErrorKind.Conflict, clash.Kind);
    }

    [Fact]
    public async Task The_bootstrap_key_is_made_only_into_an_empty_store_and_a_configured_one_is_ensured_idempotently()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var store = node.Grains.GetGrain<IApiKeyStoreGrain>(ApiKeyStoreGrain.Key);
        var (firstId, _, firstHash) = ApiKeyTokens.Generate();
        var (secondId, _, secondHash) = ApiKeyTokens.Generate();

        Assert.NotNull(await store.BootstrapAsync(Record(firstId, firstHash), onlyIfEmpty: true));
        Assert.Null(await store.BootstrapAsync(Record(secondId, secondHash), onlyIfEmpty: true));
        Assert.Equal(firstHash, (await store.BootstrapAsync(Record(firstId, firstHash), onlyIfEmpty: false))!.SecretHash);

        Assert.Equal([firstId], (await store.GetSnapshotAsync()).Keys.Select(k => k.Id));
    }

    [Fact]
    public async Task The_cache_refuses_a_revoked_or_expired_key_it_had_already_verified()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var keys = new KeyOperations(node.Grains, _time);
        var cache = new ApiKeyCache(node.Grains, _time, Options.Create(new SecurityOptions()), Options.Create(new ControlPlaneOptions()), NullLogger<ApiKeyCache>.Instance);
        await cache.StartAsync(CancellationToken.None);
        try
        {
            var revoked = await keys.CreateAsync("erin", ["viewer", "operator"], null, "r", TestActors.Named("root"));
            var expiring = await keys.CreateAsync("frank", ["reporter"], ttlSeconds: 60, "r", TestActors.Named("root"));

            var ticket = cache.Authenticate(revoked.Key, out _);
            Assert.NotNull(ticket);
            Assert.Equal("erin", ticket.Principal.Identity!.Name);
            Assert.True(ticket.Principal.IsInRole("operator"));
            Assert.False(ticket.Principal.IsInRole("admin"));
            Assert.Same(ticket, cache.Authenticate(revoked.Key, out _));
            Assert.Null(cache.Authenticate(revoked.Key[..20] + (revoked.Key[20] == 'A' ? 'B' : 'A') + revoked.Key[21..], out var wrong));
            Assert.Equal("unknown API key", wrong);
            // The same secret spelled with the last character's unused bits set is not a second token for the key.
            var last = revoked.Key[^1];
            var respelled = revoked.Key[..^1] + (char)(last == '_' ? '-' : last + 1);
            Assert.Null(cache.Authenticate(respelled, out _));
            Assert.NotNull(cache.Authenticate(expiring.Key, out _));
            // The fast path admits a verified key holding a role of every required set, and nothing else.
            Assert.True(cache.TryAuthorizeKnown(expiring.Key, [["admin", "reporter"]], out var principal));
            Assert.Equal("frank", principal.Identity!.Name);
            Assert.False(cache.TryAuthorizeKnown(expiring.Key, [["reporter"], ["viewer"]], out _));
            Assert.True(cache.TryAuthorizeKnown(revoked.Key, [["viewer"], ["operator", "admin"]], out _));
            Assert.False(cache.TryAuthorizeKnown(respelled, [], out _));

            await keys.RevokeAsync(revoked.Id, "left", TestActors.Named("root"));
            Assert.Null(cache.Authenticate(revoked.Key, out var why));
            Assert.Equal("the API key was revoked", why);
            Assert.False(cache.TryAuthorizeKnown(revoked.Key, [], out _));

            _time.Advance(TimeSpan.FromSeconds(60));
            Assert.Null(cache.Authenticate(expiring.Key, out var expired));
            Assert.Equal("the API key has expired", expired);
            Assert.False(cache.TryAuthorizeKnown(expiring.Key, [], out _));
        }
        finally
        {
            await cache.StopAsync();
            cache.Dispose();
        }
    }

    [Fact]
    public async Task A_name_an_active_key_has_is_refused_for_another_key_until_that_key_is_revoked_or_expired()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var keys = new KeyOperations(node.Grains, _time);
        var store = node.Grains.GetGrain<IApiKeyStoreGrain>(ApiKeyStoreGrain.Key);
        var first = await keys.CreateAsync("bob", [Roles.PolicyApprover], ttlSeconds: 60, "r", TestActors.Named("root"));

        // An admin cannot mint a second "bob" while bob's key is active.
        var clash = await Assert.ThrowsAsync<AdminException>(() => keys.CreateAsync("bob", [.. Roles.All], null, "second bob", TestActors.Named("alice")));
        Assert.Equal((AdminErrorKind.Conflict, "name"), (clash.Kind, clash.Field));
        Assert.Contains(first.Id, clash.Detail, StringComparison.Ordinal);
        // The retried create of the same key still answers with it.
        var stored = (await store.GetAsync(first.Id))!;
        Assert.Equal(first.Id, (await store.CreateAsync(new ApiKeyCreation(stored, TestActors.Named("root"), "retry"))).Id);
        Assert.Single((await store.GetSnapshotAsync()).Keys);

        // Once it has expired the name is free again; the new key's name then clashes until it is revoked.
        _time.Advance(TimeSpan.FromSeconds(60));
        var second = await keys.CreateAsync("bob", ["viewer"], null, "rotated", TestActors.Named("root"));
        await Assert.ThrowsAsync<AdminException>(() => keys.CreateAsync("bob", ["viewer"], null, "again", TestActors.Named("root")));
        await keys.RevokeAsync(second.Id, "rotated", TestActors.Named("root"));
        var third = await keys.CreateAsync("bob", ["viewer"], null, "rotated again", TestActors.Named("root"));

        Assert.Equal([first.Id, second.Id, third.Id], (await store.GetSnapshotAsync()).Keys.Select(k => k.Id));
        Assert.Equal("root", (await store.GetAsync(third.Id))!.CreatedBy);
        Assert.Null(await store.GetAsync("nosuchkey000"));
    }

    [Fact]
    public async Task A_revoke_while_the_trail_cannot_write_is_acknowledged_with_its_entry_staged_and_delivered_when_storage_returns()
    {
        var probe = new StorageProbe();
        await using var node = await ServiceNode.StartAsync(_time, _storage, probe: probe);
        var keys = new KeyOperations(node.Grains, _time);
        var created = await keys.CreateAsync("erin", ["viewer"], null, "r", TestActors.Named("root"));
        probe.FailWrites = id => id.Type.ToString() == "audit";

        var revoked = await keys.RevokeAsync(created.Id, "left the team", TestActors.Named("root"));

        Assert.NotNull(revoked.RevokedAt);
        // The revoke and its entry are in the key store's stored state; a retry changes nothing and the trail has no entry yet.
        var (stored, _, _) = await probe.ReadStoredAsync<ApiKeyStoreState>("api-keys", GrainId.Create("api-keys", ApiKeyStoreGrain.Key));
        Assert.NotNull(Assert.Single(stored.Keys).RevokedAt);
        var staged = Assert.Single(stored.AuditOutbox!.Pending);
        Assert.Equal(("key.revoke", created.Id), (staged.Action, staged.Target));
        await keys.RevokeAsync(created.Id, "left the team", TestActors.Named("root"));
        var trail = node.Grains.GetGrain<IAuditTrailGrain>(AuditTrailGrain.Key);
        Assert.DoesNotContain(await trail.ListAsync(10), e => e.Action == "key.revoke");

        probe.FailWrites = null;
        var audit = await Eventually.WaitAsync(async () =>
        {
            _time.Advance(GrainAuditOutbox.RetryPeriod);
            return await trail.ListAsync(10);
        }, a => a.Any(e => e.Action == "key.revoke"), attempts: 50);

        var entry = Assert.Single(audit, e => e.Action == "key.revoke");
        Assert.Equal((created.Id, "left the team", "root", staged.ChangeId), (entry.Target, entry.Reason, entry.Actor.Principal, entry.ChangeId));
        Assert.Equal(["key.create", "key.revoke"], audit.Select(e => e.Action).Order(StringComparer.Ordinal));
    }

    private ApiKeyRecord Record(string id, byte[] hash) => new(id, "bootstrap-admin", [.. Roles.All], hash, _time.GetUtcNow(), "system:bootstrap", null);

    private static byte[] Base64UrlSecret(string token) => System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan(17));
}
