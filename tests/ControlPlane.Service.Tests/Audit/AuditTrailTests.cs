using ControlPlane.Service.Audit;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace ControlPlane.Service.Tests.Audit;

/// <summary>The audit trail is a head (the newest entries) plus sealed segments of <see cref="AuditTrailGrain.SegmentSize"/>
/// entries: listing crosses segment boundaries seamlessly, nothing is ever dropped, and a sealed segment is never rewritten.</summary>
public sealed class AuditTrailTests(ITestOutputHelper output) : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Admin_changes_past_segment_boundaries_are_listed_newest_first_with_contiguous_sequences_and_survive_a_restart()
    {
        const int changes = 300;
        Assert.True(changes > 2 * AuditTrailGrain.SegmentSize);
        await using (var node = await ServiceNode.StartAsync(_time, _storage))
        {
            for (var i = 1; i <= changes; i++)
            {
                await node.Admin.SetBreakerAsync("openai-gpt4o-us", new(i % 2 == 0 ? "closed" : "open", $"change {i}", null), TestActors.Named("ops"));
            }

            AssertTrail(await node.Admin.GetAuditAsync(1000), changes, changes);
        }

        await using var restarted = await ServiceNode.StartAsync(_time, _storage);
        var audit = await restarted.Admin.GetAuditAsync(1000);
        AssertTrail(audit, changes, changes);
        Assert.Equal(("breaker.force_open", "change 1"), (audit[^1].Action, audit[^1].Reason));
        Assert.Equal(("breaker.force_closed", "change 300"), (audit[0].Action, audit[0].Reason));
        // A page that ends inside a sealed segment.
        AssertTrail(await restarted.Admin.GetAuditAsync(200), changes, 200);

        // Appends carry on after the restart, numbered after the last one.
        await restarted.Admin.DrainAsync("openai-gpt4o-us", new("after restart", null), TestActors.Named("ops"));
        AssertTrail(await restarted.Admin.GetAuditAsync(1000), changes + 1, changes + 1);
    }

    [Fact]
    public async Task Nothing_is_dropped_every_sealed_segment_stays_in_storage_and_every_entry_is_listed()
    {
        const int appended = 5 * AuditTrailGrain.SegmentSize + 88;
        var probe = new StorageProbe();
        await using var node = await ServiceNode.StartAsync(_time, _storage, probe: probe);
        var trail = node.Grains.GetGrain<IAuditTrailGrain>(AuditTrailGrain.Key);
        for (var i = 1; i <= appended; i++)
        {
            await trail.AppendAsync(new AuditEntry(0, default, TestActors.Named("ops"), "test.append", "trail", $"append {i}", "", ""));
        }

        AssertTrail(await trail.ListAsync(1000), appended, appended);
        for (var segment = 0; segment < appended / AuditTrailGrain.SegmentSize; segment++)
        {
            var (stored, exists, _) = await probe.ReadStoredAsync<AuditSegmentState>("segment", AuditTrailGrain.SegmentId(segment));
            Assert.True(exists);
            Assert.Equal(segment * AuditTrailGrain.SegmentSize + 1, stored.Entries[0].Sequence);
            Assert.Equal(AuditTrailGrain.SegmentSize, stored.Entries.Count);
        }
    }

    [Fact]
    public async Task A_sealed_segment_is_never_rewritten_with_other_entries()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var segment = node.Grains.GetGrain<IAuditSegmentGrain>($"{AuditTrailGrain.Key}/7");
        var entry = new AuditEntry(1, default, TestActors.Named("ops"), "test.append", "trail", "first", "", "") { Hash = "aa" };
        await segment.SealAsync([entry]);
        await segment.SealAsync([entry]);

        await Assert.ThrowsAsync<InvalidOperationException>(() => segment.SealAsync([entry with { Reason = "second", Hash = "bb" }]));
        Assert.Equal("first", Assert.Single(await segment.GetEntriesAsync()).Reason);
    }

    [Fact]
    public async Task A_sealed_breaker_change_entry_costs_under_a_kilobyte_of_storage()
    {
        await using (var node = await ServiceNode.StartAsync(_time, _storage))
        {
            // One more than two segments: the second is sealed by the append after it fills.
            for (var i = 1; i <= 2 * AuditTrailGrain.SegmentSize + 1; i++)
            {
                await node.Admin.SetBreakerAsync("openai-gpt4o-us", new(i % 2 == 0 ? "closed" : "open", $"INC-{i} provider outage", 3600),
                    TestActors.Named("alice@acme", ControlPlane.Service.Security.Roles.Operator));
            }
        }

        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_storage.DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT sum(length(data)) FROM grain_storage WHERE state_name = 'segment';";
        var perEntry = Convert.ToDouble(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) / (2 * AuditTrailGrain.SegmentSize);
        output.WriteLine($"bytes per sealed entry: {perEntry:0}");

        Assert.InRange(perEntry, 200, 1024);
    }

    public void Dispose() => _storage.Dispose();

    private static void AssertTrail(IReadOnlyList<AuditEntry> entries, long newest, int count)
    {
        Assert.Equal(count, entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            Assert.Equal(newest - i, entries[i].Sequence);
        }
    }
}
