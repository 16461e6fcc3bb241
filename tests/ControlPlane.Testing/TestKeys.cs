using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ControlPlane.Testing;

/// <summary>Per-principal API keys for tests, created through a node's admin API. Key names are unique among active
/// keys, so a principal has one active key per key store: its token is shared by every node on that store (a restarted
/// node, the other silos of a cluster), and asking for the principal with other roles revokes its key and makes a new one.</summary>
public static class TestKeys
{
    private static readonly ConcurrentDictionary<string, (string Roles, string Token)> Keys = new(StringComparer.Ordinal);
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>The token of the active key named <paramref name="principal"/> holding <paramref name="roles"/> in the key
    /// store <paramref name="store"/> (any string naming it: a data directory, a cluster id), made through
    /// <paramref name="admin"/> (an admin client) when there is none yet.</summary>
    public static async Task<string> ForAsync(HttpClient admin, string store, string principal, IReadOnlyList<string> roles)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var cacheKey = $"{store}\n{principal}";
        var granted = string.Join(',', roles);
        if (Keys.TryGetValue(cacheKey, out var known) && known.Roles == granted)
        {
            return known.Token;
        }

        await Gate.WaitAsync();
        try
        {
            if (Keys.TryGetValue(cacheKey, out known) && known.Roles == granted)
            {
                return known.Token;
            }

            var token = await CreateAsync(admin, principal, roles);
            if (token is null)
            {
                // The principal's active key holds other roles (or another test node made it): replace it.
                await RevokeActiveAsync(admin, principal);
                token = await CreateAsync(admin, principal, roles)
                    ?? throw new InvalidOperationException($"POST /admin/v1/keys for '{principal}' still conflicts after revoking its active key");
            }

            Keys[cacheKey] = (granted, token);
            return token;
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<string?> CreateAsync(HttpClient admin, string principal, IReadOnlyList<string> roles)
    {
        using var response = await admin.PostAsJsonAsync("admin/v1/keys", new { name = principal, roles, reason = "test principal" });
        if (response.StatusCode == HttpStatusCode.Conflict)
        {
            return null;
        }

        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"POST /admin/v1/keys answered {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
    }

    private static async Task RevokeActiveAsync(HttpClient admin, string principal)
    {
        var keys = await admin.GetFromJsonAsync<JsonElement>("admin/v1/keys");
        foreach (var key in keys.EnumerateArray())
        {
            if (key.GetProperty("name").GetString() == principal
                && (!key.TryGetProperty("revokedAt", out var revoked) || revoked.ValueKind == JsonValueKind.Null))
            {
                using var response = await admin.PostAsJsonAsync($"admin/v1/keys/{key.GetProperty("id").GetString()}/revoke", new { reason = "test principal's roles changed" });
                response.EnsureSuccessStatusCode();
            }
        }
    }
}
