using System.Diagnostics;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace ControlPlane.Service.Tests.Storage;

/// <summary>The embedded SQLite store stays the size of the live state: thousands of admin changes (each rewriting an
/// endpoint's or class's state and appending to the segmented audit trail) and half an hour of lease renewals do not
/// grow it without bound.</summary>
public sealed class EmbeddedFileSizeTests(ITestOutputHelper output) : IDisposable
{
    private const long Limit = 50L * 1024 * 1024;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 22, 3, 0, 0, TimeSpan.Zero));
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Five_thousand_admin_changes_and_thirty_minutes_of_lease_renewals_keep_the_files_under_50_MB()
    {
        const int changes = 5_000;
        var step = TimeSpan.FromSeconds(1);
        var idle = TimeSpan.FromMinutes(30);
        var clock = Stopwatch.StartNew();
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        string[] endpoints = ["openai-gpt4o-us", "openai-gpt41-us", "anthropic-sonnet-us", "google-gemini-pro-us", "selfhosted-llama-eu"];
        string[] modes = ["auto_fallback", "queue_only", "fail"];
        for (var i = 0; i < changes; i++)
        {
            var endpoint = endpoints[i % endpoints.Length];
            var reason = $"change {i}: " + new string('x', 64);
            _ = (i % 5) switch
            {
                0 => (object)await node.Admin.SetBreakerAsync(endpoint, new("open", reason, 3600), TestActors.Named("ops")),
                1 => await node.Admin.SetBreakerAsync(endpoint, new("closed", reason, null), TestActors.Named("ops")),
                2 => await node.Admin.DrainAsync(endpoint, new(reason, null), TestActors.Named("ops")),
                3 => await node.Admin.SetBreakerAsync(endpoint, new("auto", reason, null), TestActors.Named("ops")),
                _ => await PolicyFlow.ChangeAsync(node, "customer_chat", PolicyCommands.CustomerChat(modes[i / 5 % 3], reason), "ops", "ops-approver"),
            };
        }

        var afterChanges = _storage.FileSizes();
        output.WriteLine($"after {changes} admin changes ({clock.Elapsed.TotalSeconds:0.0} s): {Describe(afterChanges)}");
        Assert.Equal(1000, (await node.Admin.GetAuditAsync(1000)).Count);

        // Idle: no traffic, the node's loop renews its leases as they near expiry, grains evaluate on their timers,
        // storage checkpoints on its own timer.
        var leaseBefore = await NodeLeaseIdAsync(node);
        var idleClock = Stopwatch.StartNew();
        for (var elapsed = TimeSpan.Zero; elapsed < idle; elapsed += step)
        {
            _time.Advance(step);
            // Let the loop's tick (and the renewals it starts) run before the next step.
            await Task.Delay(1);
            await node.Node.RenewLeasesAsync();
        }

        var leaseAfter = await NodeLeaseIdAsync(node);
        var sizes = _storage.FileSizes();
        var total = sizes.Database + sizes.Wal + sizes.Shm;
        output.WriteLine($"after {idle.TotalMinutes:0} min of idle renewals in {step.TotalSeconds:0} s steps ({idleClock.Elapsed.TotalSeconds:0.0} s; " +
            $"node lease id {leaseBefore} -> {leaseAfter}): {Describe(sizes)}");

        Assert.True(leaseAfter - leaseBefore >= idle / TimeSpan.FromSeconds(10), $"leases renewed only from {leaseBefore} to {leaseAfter}");
        Assert.True(total < Limit, $"SQLite files take {total:N0} bytes: {Describe(sizes)}");
    }

    public void Dispose() => _storage.Dispose();

    private static async Task<long> NodeLeaseIdAsync(ServiceNode node) =>
        (await node.Grains.GetGrain<IProviderEndpointGrain>("anthropic-sonnet-us").GetDetailsAsync()).Leases
            .Where(l => l.NodeId == "node-local").Select(l => l.LeaseId).DefaultIfEmpty(0).Max();

    private static string Describe((long Database, long Wal, long Shm) sizes) =>
        $"db {Mb(sizes.Database)}, wal {Mb(sizes.Wal)}, shm {Mb(sizes.Shm)}, total {Mb(sizes.Database + sizes.Wal + sizes.Shm)}";

    private static string Mb(long bytes) => $"{bytes / 1024.0 / 1024.0:0.00} MB";
}
