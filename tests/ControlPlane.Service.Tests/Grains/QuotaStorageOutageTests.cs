using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using ControlPlane.Testing.Redis;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace ControlPlane.Service.Tests.Grains;

/// <summary>A storage outage must not become a routing outage: grains whose state lives in a real redis-server that is
/// killed and restarted keep granting leases from memory (up to the outage share) and write what they hold once Redis
/// is back; nodes keep routing throughout.</summary>
public sealed class QuotaStorageOutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Fleet = """
        endpoints:
          - { id: shared, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, limits: { tpm: 0, rpm: 600 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [shared], budget: { tokens_per_minute: 0, requests_per_minute: 1200 }, slo: { availability: 0.99 } }
        """;

    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(50);

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();
    private RedisServerFixture _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServerFixture.StartNewAsync(new RedisServerOptions { AppendOnly = true });

    [Fact]
    public async Task Route_keeps_answering_through_a_redis_restart_and_the_held_grants_are_written_when_it_returns()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet), externalStorage: silo =>
            silo.AddRedisGrainStorage(GrainStorage.Name, o =>
            {
                // As the server configures grain storage: writes fail fast while Redis is unreachable.
                var redis = ConfigurationOptions.Parse(_redis.Endpoint);
                redis.BacklogPolicy = BacklogPolicy.FailFast;
                redis.AsyncTimeout = 2_000;
                redis.SyncTimeout = 2_000;
                o.ConfigurationOptions = redis;
            }));

        // 8 requests a second, within the 600 RPM limit and the class budget: the limits refuse nothing here, so every
        // answer without an endpoint is one the outage caused.
        var before = await DriveAsync(node, TimeSpan.FromSeconds(10));
        await _redis.StopAsync();
        var during = await DriveAsync(node, TimeSpan.FromSeconds(8));
        await _redis.StartAsync();
        var after = await DriveAsync(node, TimeSpan.FromSeconds(10));

        output.WriteLine($"without an endpoint: before {before.Refused}/{before.Asked}, during the outage {during.Refused}/{during.Asked}, after {after.Refused}/{after.Asked}");
        Assert.Equal(0, before.Refused);
        Assert.Equal(0, during.Refused);
        Assert.Equal(0, after.Refused);

        // Reconciled: what the grain holds in memory is what Redis holds once it is back (the held grants were written).
        var grain = node.Grains.GetGrain<IProviderEndpointGrain>("shared");
        var live = (await grain.GetDetailsAsync()).Leases.Select(l => l.LeaseId).ToHashSet();
        var stored = await _redis.CliAsync("--no-raw", "KEYS", "*endpoint*shared*");
        output.WriteLine($"stored keys: {stored.Trim()}");
        Assert.False(string.IsNullOrWhiteSpace(stored));
        var json = await _redis.CliAsync("HGET", stored.Split('"', StringSplitOptions.RemoveEmptyEntries).First(k => k.Contains("shared", StringComparison.Ordinal)), "data");
        foreach (var id in live)
        {
            Assert.Contains($"\"Id\":{id},", json, StringComparison.Ordinal);
        }
    }

    private async Task<(int Asked, int Refused)> DriveAsync(ServiceNode node, TimeSpan duration)
    {
        const double Rate = 8;
        double carry = 0;
        int asked = 0;
        int refused = 0;
        for (var t = TimeSpan.Zero; t < duration; t += Step)
        {
            _time.Advance(Step);
            await node.Node.RenewLeasesAsync();
            for (carry += Rate * Step.TotalSeconds; carry >= 1; carry--)
            {
                asked++;
                if (node.Route("chat", 100, 100).EndpointId.Length == 0)
                {
                    refused++;
                }
            }

            // Real time passes at the fake clock's pace, so the client notices the outage and reconnects after it in
            // the time it would in service: a faster fake clock would stretch the reconnect (real time, ~1-3 s on a
            // loaded machine) over more fake seconds of grants than the outage share is meant to cover.
            await Task.Delay(Step);
        }

        return (asked, refused);
    }

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        _storage.Dispose();
    }
}
