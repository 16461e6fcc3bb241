using System.Text.Json.Nodes;
using ControlPlane.Service.Audit;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Audit;

/// <summary>The audit trail is a hash chain: verify walks every stored entry oldest first. Each test writes a trail of
/// <see cref="Appended"/> entries (two sealed segments and a tail), then edits the SQLite file directly (as someone with
/// access to it would, behind the grains' backs) and expects verify to name the first sequence that is wrong.</summary>
public sealed class AuditTamperTests : IDisposable
{
    private const int Appended = 2 * AuditTrailGrain.SegmentSize + 44;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 15, 0, 0, TimeSpan.Zero));
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task An_untouched_trail_verifies_every_entry_links_to_the_one_before_and_still_verifies_after_a_restart()
    {
        await using (var node = await StartWithTrailAsync())
        {
            var verification = await node.Admin.VerifyAuditAsync();
            var all = await node.Admin.GetAuditAsync(1000);
            Assert.Equal(new AuditVerification(true, Appended, all[0].Hash, Appended, null), verification);
            for (var i = 0; i < all.Count; i++)
            {
                Assert.Equal(AuditChain.Compute(all[i]), all[i].Hash);
                Assert.Equal(i + 1 < all.Count ? all[i + 1].Hash : "", all[i].PreviousHash);
                Assert.Matches("^[0-9a-f]{64}$", all[i].Hash);
            }
        }

        await using var restarted = await ServiceNode.StartAsync(_time, _storage);
        await restarted.Admin.DrainAsync("openai-gpt4o-us", new("after restart", null), TestActors.Named("ops"));
        var after = await restarted.Admin.VerifyAuditAsync();
        Assert.True(after.Ok, after.FirstBroken?.Reason);
        Assert.Equal(Appended + 1, after.Entries);
    }

    [Fact]
    public async Task Editing_a_field_of_a_sealed_entry_is_a_hash_mismatch_at_its_sequence()
    {
        await using var node = await StartWithTrailAsync();
        StoredRows.Edit(_storage, "segment", AuditTrailGrain.SegmentId(0), state => SetField(Entry(state, "Entries", 50), "Reason", "nothing to see"));

        AssertBroken(await node.Admin.VerifyAuditAsync(), 50, "hash mismatch");
    }

    [Fact]
    public async Task Editing_the_actor_of_an_entry_is_found()
    {
        await using var node = await StartWithTrailAsync();
        StoredRows.Edit(_storage, "segment", AuditTrailGrain.SegmentId(1),
            state => SetField(Field(Entry(state, "Entries", 200), "Actor")!, "Principal", "intern"));

        AssertBroken(await node.Admin.VerifyAuditAsync(), 200, "hash mismatch");
    }

    [Fact]
    public async Task An_edited_entry_given_a_fresh_hash_breaks_the_link_of_the_entry_after_it()
    {
        await using var node = await StartWithTrailAsync();
        var original = (await node.Admin.GetAuditAsync(1000)).Single(e => e.Sequence == 60);
        var forged = original with { Reason = "forged" };
        var forgedHash = AuditChain.Compute(forged);
        StoredRows.Edit(_storage, "segment", AuditTrailGrain.SegmentId(0), state =>
        {
            var entry = Entry(state, "Entries", 60);
            SetField(entry, "Reason", "forged");
            SetField(entry, "Hash", forgedHash);
        });

        AssertBroken(await node.Admin.VerifyAuditAsync(), 61, "link");
    }

    [Fact]
    public async Task A_deleted_entry_is_a_sequence_gap()
    {
        await using var node = await StartWithTrailAsync();
        StoredRows.Edit(_storage, "segment", AuditTrailGrain.SegmentId(0), state => Entries(state, "Entries").RemoveAt(69));

        AssertBroken(await node.Admin.VerifyAuditAsync(), 70, "missing");
    }

    [Fact]
    public async Task A_deleted_segment_is_found_at_its_first_sequence()
    {
        await using var node = await StartWithTrailAsync();
        StoredRows.Delete(_storage, "segment", AuditTrailGrain.SegmentId(1));

        AssertBroken(await node.Admin.VerifyAuditAsync(), AuditTrailGrain.SegmentSize + 1, "segment 1");
    }

    [Fact]
    public async Task Editing_an_entry_of_the_tail_is_found()
    {
        await using var node = await StartWithTrailAsync();
        StoredRows.Edit(_storage, "audit", GrainId.Create("audit", AuditTrailGrain.Key),
            state => SetField(Entry(state, "Tail", Appended - 3), "After", "override none"));

        AssertBroken(await node.Admin.VerifyAuditAsync(), Appended - 3, "hash mismatch");
    }

    [Fact]
    public async Task A_truncated_tail_is_found_where_the_stored_entries_end()
    {
        await using var node = await StartWithTrailAsync();
        StoredRows.Edit(_storage, "audit", GrainId.Create("audit", AuditTrailGrain.Key), state =>
        {
            var tail = Entries(state, "Tail");
            tail.RemoveAt(tail.Count - 1);
            tail.RemoveAt(tail.Count - 1);
        });

        AssertBroken(await node.Admin.VerifyAuditAsync(), Appended - 1, "truncated");
    }

    [Fact]
    public async Task A_head_rolled_back_with_its_tail_cut_is_found_even_when_it_is_consistent_in_itself()
    {
        await using var node = await StartWithTrailAsync();
        var newestKept = (await node.Admin.GetAuditAsync(1000)).Single(e => e.Sequence == Appended - 5);
        StoredRows.Edit(_storage, "audit", GrainId.Create("audit", AuditTrailGrain.Key), state =>
        {
            var tail = Entries(state, "Tail");
            while (tail.Count > 0 && Sequence(tail[^1]!) > newestKept.Sequence)
            {
                tail.RemoveAt(tail.Count - 1);
            }

            SetField(state, "LastSequence", newestKept.Sequence);
            SetField(state, "HeadHash", newestKept.Hash);
        });

        // The stored head now agrees with its entries; the live head still knows five more.
        AssertBroken(await node.Admin.VerifyAuditAsync(), newestKept.Sequence + 1, "rewritten in storage");
    }

    [Fact]
    public async Task A_deleted_head_is_found_before_and_after_a_restart()
    {
        await using (var node = await StartWithTrailAsync())
        {
            StoredRows.Delete(_storage, "audit", GrainId.Create("audit", AuditTrailGrain.Key));
            AssertBroken(await node.Admin.VerifyAuditAsync(), 2 * AuditTrailGrain.SegmentSize + 1, "head");
        }

        // After a restart the trail starts empty, but the sealed segments it forgot are still there.
        await using var restarted = await ServiceNode.StartAsync(_time, _storage);
        AssertBroken(await restarted.Admin.VerifyAuditAsync(), 1, "beyond the head");
    }

    public void Dispose() => _storage.Dispose();

    private static void AssertBroken(AuditVerification verification, long sequence, string reason)
    {
        Assert.False(verification.Ok);
        var broken = Assert.IsType<AuditBreak>(verification.FirstBroken);
        Assert.Equal(sequence, broken.Sequence);
        Assert.Contains(reason, broken.Reason, StringComparison.Ordinal);
    }

    private async Task<ServiceNode> StartWithTrailAsync()
    {
        var node = await ServiceNode.StartAsync(_time, _storage);
        for (var i = 1; i <= Appended; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await node.Admin.SetBreakerAsync("openai-gpt4o-us", new(i % 2 == 0 ? "closed" : "open", $"change {i}", null), TestActors.Named(i % 3 == 0 ? "bob" : "alice"));
        }

        var clean = await node.Admin.VerifyAuditAsync();
        Assert.True(clean.Ok, clean.FirstBroken?.Reason);
        return node;
    }

    // The stored JSON's property names are the C# names; looked up without regard to case so a naming policy does not matter.
    private static JsonNode? Field(JsonNode node, string name) =>
        node.AsObject().FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    private static void SetField(JsonNode node, string name, JsonNode? value)
    {
        var obj = node.AsObject();
        var key = obj.Select(p => p.Key).First(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));
        obj[key] = value;
    }

    private static JsonArray Entries(JsonNode state, string list) => Field(state, list)!.AsArray();

    private static long Sequence(JsonNode entry) => Field(entry, "Sequence")!.GetValue<long>();

    private static JsonNode Entry(JsonNode state, string list, long sequence) => Entries(state, list).First(e => Sequence(e!) == sequence)!;
}
