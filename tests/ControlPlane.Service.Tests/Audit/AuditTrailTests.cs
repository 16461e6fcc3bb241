using ControlPlane.Service.Audit;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Audit;

/// <summary>The audit trail is a head (the newest entries) plus sealed segments of <see cref="AuditTrailGrain.SegmentSize"/>
/// entries: listing crosses segment boundaries seamlessly, and retention drops whole old segments from storage.</summary>
public sealed class AuditTrailTests : IDisposable
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
    public async Task Retention_drops_whole_old_segments_from_storage_and_keeps_the_rest_contiguous()
    {
        const int kept = 256;
        const int appended = 600;
        var probe = new StorageProbe();
        await using var node = await ServiceNode.StartAsync(_time, _storage, configure: o => o.AuditEntriesKept = kept, probe: probe);
        var trail = node.Grains.GetGrain<IAuditTrailGrain>(AuditTrailGrain.Key);
        for (var i = 1; i <= appended; i++)
        {
            await trail.AppendAsync(new AuditEntry(0, default, TestActors.Named("ops"), "test.append", "trail", $"append {i}", "", ""));
        }

        var listed = await trail.ListAsync(1000);

        // Whole segments of SegmentSize are kept (kept / SegmentSize of them) plus the head's newest entries.
        const int segments = kept / AuditTrailGrain.SegmentSize;
        const int head = (appended - 1) % AuditTrailGrain.SegmentSize + 1;
        AssertTrail(listed, appended, segments * AuditTrailGrain.SegmentSize + head);
        Assert.True(listed.Count < appended);
        Assert.True(listed.Count >= kept);

        // Dropped segments are gone from storage, kept ones are there.
        var sealedCount = (appended - head) / AuditTrailGrain.SegmentSize;
        for (var segment = 0; segment < sealedCount; segment++)
        {
            var (_, exists, _) = await probe.ReadStoredAsync<AuditSegmentState>("segment", GrainId.Create("audit-segment", $"{AuditTrailGrain.Key}/{segment}"));
            Assert.Equal(segment >= sealedCount - segments, exists);
        }
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
