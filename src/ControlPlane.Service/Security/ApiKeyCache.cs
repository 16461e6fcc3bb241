using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Security;

/// <summary>A node's copy of the key store, fed by the store's pushes (it is an <see cref="IApiKeyObserver"/>) and by a
/// version poll every <see cref="SecurityOptions.KeyPollInterval"/> as the fallback. Authenticating a token already seen
/// is one dictionary lookup on the token's characters (no hashing, no allocation); a new token is parsed, its secret
/// hashed and compared in constant time, then remembered (bounded by <see cref="SecurityOptions.MaxCachedTokens"/>).
/// Every change of the store forgets the remembered tokens, so a revoked key stops at once on this node.</summary>
internal sealed partial class ApiKeyCache : IApiKeyObserver, IDisposable
{
    /// <summary>The authentication scheme of API keys.</summary>
    public const string Scheme = "ApiKey";

    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly SecurityOptions _options;
    private readonly TimeSpan _subscriptionRenewal;
    private readonly ILogger<ApiKeyCache> _logger;
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _applyLock = new();
    private volatile State _state = new(-1, FrozenDictionary<string, ApiKeyRecord>.Empty);
    private IApiKeyObserver? _self;
    private Task? _loop;

    public ApiKeyCache(IGrainFactory grains, TimeProvider time, IOptions<SecurityOptions> options, IOptions<ControlPlaneOptions> controlPlane,
        ILogger<ApiKeyCache> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(controlPlane);
        _grains = grains;
        _time = time;
        _options = options.Value;
        _subscriptionRenewal = controlPlane.Value.SubscriptionExpiry / 3;
        _logger = logger;
    }

    /// <summary>Completes once the first snapshot of the store is here.</summary>
    public Task Loaded => _loaded.Task;

    /// <summary>The store version this node holds (-1 before the first snapshot).</summary>
    public long Version => _state.Version;

    /// <summary>The principal of a valid, live API key token, or null with why not.</summary>
    public AuthenticationTicket? Authenticate(ReadOnlySpan<char> token, out string? failure)
    {
        failure = null;
        var state = _state;
        var now = _time.GetUtcNow();
        if (state.Tokens.TryGetValue(token, out var known))
        {
            if (known.Key.ExpiresAt is { } expires && now >= expires)
            {
                failure = "the API key has expired";
                return null;
            }

            return known.Ticket;
        }

        if (!ApiKeyTokens.TryParse(token, out var id, out var hash))
        {
            failure = "malformed API key";
            return null;
        }

        if (!state.Keys.TryGetValue(id, out var key) || !CryptographicOperations.FixedTimeEquals(hash, key.SecretHash))
        {
            failure = "unknown API key";
            return null;
        }

        if (key.RevokedAt is not null)
        {
            failure = "the API key was revoked";
            return null;
        }

        if (key.ExpiresAt is { } expiry && now >= expiry)
        {
            failure = "the API key has expired";
            return null;
        }

        var ticket = Ticket(key);
        if (state.TokenCount < _options.MaxCachedTokens && state.Tokens.TryAdd(token, new Known(key, ticket)))
        {
            Interlocked.Increment(ref state.TokenCount);
        }

        return ticket;
    }

    /// <summary>The principal of an API key token this node has already verified (<see cref="Authenticate"/> remembered
    /// it) when that key is live and holds, for every set of <paramref name="requiredRoles"/>, at least one of its roles;
    /// otherwise false, and the caller takes the full authentication path (which explains a refusal and audits it). One
    /// dictionary lookup on the token's characters and a scan of the key's few roles: no allocation, no hashing.</summary>
    public bool TryAuthorizeKnown(ReadOnlySpan<char> token, string[][] requiredRoles, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ClaimsPrincipal? principal)
    {
        ArgumentNullException.ThrowIfNull(requiredRoles);
        principal = null;
        if (!_loaded.Task.IsCompleted || !_state.Tokens.TryGetValue(token, out var known)
            || known.Key.RevokedAt is not null
            || (known.Key.ExpiresAt is { } expires && _time.GetUtcNow() >= expires))
        {
            return false;
        }

        foreach (var anyOf in requiredRoles)
        {
            if (!HoldsAny(known.Key.Roles, anyOf))
            {
                return false;
            }
        }

        principal = known.Ticket.Principal;
        return true;
    }

    private static bool HoldsAny(string[] held, string[] anyOf)
    {
        foreach (var role in anyOf)
        {
            if (Array.IndexOf(held, role) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The principal an API key's calls carry: its name (<c>sub</c>), its roles (<c>roles</c>), its id.</summary>
    public static AuthenticationTicket Ticket(ApiKeyRecord key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var claims = new List<Claim>(key.Roles.Length + 3)
        {
            new(SecurityClaims.Subject, key.Name),
            new(SecurityClaims.Credential, key.Id),
            new(SecurityClaims.Kind, SecurityClaims.ApiKeyKind),
        };
        claims.AddRange(key.Roles.Select(r => new Claim(SecurityClaims.Roles, r)));
        var identity = new ClaimsIdentity(claims, Scheme, SecurityClaims.Subject, SecurityClaims.Roles);
        return new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme);
    }

    public Task OnKeysChangedAsync(ApiKeySnapshot snapshot)
    {
        Apply(snapshot);
        return Task.CompletedTask;
    }

    /// <summary>Subscribes (retrying until it succeeds or <paramref name="cancellationToken"/> ends), then keeps the
    /// subscription renewed and polls the version in the background.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _self = _grains.CreateObjectReference<IApiKeyObserver>(this);
        while (true)
        {
            try
            {
                Apply(await Store.SubscribeAsync(_self).WaitAsync(cancellationToken));
                break;
            }
            catch (Exception error) when (error is not OperationCanceledException && error is not OutOfMemoryException)
            {
                LogRefreshFailed(_logger, error);
                await Task.Delay(TimeSpan.FromMilliseconds(500), _time, cancellationToken);
            }
        }

        _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_self is not null)
        {
            _grains.DeleteObjectReference<IApiKeyObserver>(_self);
            _self = null;
        }
    }

    public void Dispose() => _stop.Dispose();

    private IApiKeyStoreGrain Store => _grains.GetGrain<IApiKeyStoreGrain>(ApiKeyStoreGrain.Key);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var lastSubscribe = _time.GetUtcNow();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.KeyPollInterval, _time, cancellationToken);
                if (_time.GetUtcNow() - lastSubscribe >= _subscriptionRenewal)
                {
                    Apply(await Store.SubscribeAsync(_self!));
                    lastSubscribe = _time.GetUtcNow();
                }
                else if (await Store.GetVersionAsync() != _state.Version)
                {
                    Apply(await Store.GetSnapshotAsync());
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error) when (error is not OutOfMemoryException)
            {
                // The store is unreachable: the node keeps its copy and tries again at the next poll.
                LogRefreshFailed(_logger, error);
            }
        }
    }

    /// <summary>Takes a snapshot newer than the one held (pushes and polls may arrive in any order).</summary>
    internal void Apply(ApiKeySnapshot snapshot)
    {
        lock (_applyLock)
        {
            if (snapshot.Version > _state.Version || _state.Version < 0)
            {
                _state = new State(snapshot.Version, snapshot.Keys.ToFrozenDictionary(k => k.Id, StringComparer.Ordinal));
            }
        }

        _loaded.TrySetResult();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not refresh the API keys from the key store; the node keeps its copy.")]
    private static partial void LogRefreshFailed(ILogger logger, Exception error);

    private sealed record Known(ApiKeyRecord Key, AuthenticationTicket Ticket);

    // One store version: its keys, and the tokens verified against them (forgotten with the version).
    private sealed class State(long version, FrozenDictionary<string, ApiKeyRecord> keys)
    {
        public int TokenCount;

        public long Version { get; } = version;

        public FrozenDictionary<string, ApiKeyRecord> Keys { get; } = keys;

        // Looked up by the token's characters inside the Authorization header: no string is made for a known token.
        public ConcurrentDictionary<string, Known>.AlternateLookup<ReadOnlySpan<char>> Tokens { get; } =
            new ConcurrentDictionary<string, Known>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
    }
}

/// <summary>The claim types of an authenticated caller.</summary>
internal static class SecurityClaims
{
    /// <summary>The principal (an API key's name, a JWT's subject).</summary>
    public const string Subject = "sub";

    /// <summary>A role (one claim per role).</summary>
    public const string Roles = "roles";

    /// <summary>A JWT's alternative role claim, read as <see cref="Roles"/>.</summary>
    public const string Role = "role";

    /// <summary>Which credential: an API key's id, or <c>jwt:ISSUER:TOKEN-ID</c>.</summary>
    public const string Credential = "cp.credential";

    /// <summary><see cref="ApiKeyKind"/> or <see cref="JwtKind"/>.</summary>
    public const string Kind = "cp.kind";

    /// <summary>The kind of an API key credential.</summary>
    public const string ApiKeyKind = "api-key";

    /// <summary>The kind of a JWT credential.</summary>
    public const string JwtKind = "jwt";
}
