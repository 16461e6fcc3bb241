using ControlPlane.Service.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace ControlPlane.Service.Audit;

/// <summary>Persisted head of the audit trail: the newest entries, the chain's head and how many segments are sealed.</summary>
[GenerateSerializer, Alias("cp.AuditTrailState")]
public sealed class AuditTrailState
{
    /// <summary>The newest entries (at most a segment), oldest first.</summary>
    [Id(0)]
    public List<AuditEntry> Tail { get; set; } = [];

    /// <summary>The last sequence number handed out.</summary>
    [Id(1)]
    public long LastSequence { get; set; }

    /// <summary>The number of sealed segments (<c>0..NextSegment-1</c>), which is also the next one to seal.</summary>
    [Id(2)]
    public long NextSegment { get; set; }

    /// <summary>The hash of the last entry (empty before the first): the next entry links to it.</summary>
    [Id(4)]
    public string HeadHash { get; set; } = "";

    /// <summary>The time of the last entry: entries are stamped no earlier, so time order is sequence order.</summary>
    [Id(5)]
    public DateTimeOffset LastAt { get; set; }

    /// <summary>Per source (a grain's audit outbox), the newest change number appended and its sequence: a retried
    /// delivery of a change already in the trail is recognised and not appended twice.</summary>
    [Id(6)]
    public Dictionary<string, DeliveredChange> Delivered { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The newest change of one source that is in the trail.</summary>
/// <param name="Number">The source's change number.</param>
/// <param name="Sequence">Where it is in the trail.</param>
[Immutable]
public sealed record DeliveredChange(long Number, long Sequence);

/// <summary>Who changed what, when and why: a hash chain (each entry commits to its fields and the previous entry's hash,
/// see <see cref="AuditChain"/>), written before the append returns, so an acknowledged append is in storage. An append
/// rewrites at most one segment's worth of entries (the tail); a full tail is sealed into its own
/// <see cref="AuditSegmentGrain"/> (one write, never rewritten, never cleared). Nothing is dropped: storage grows with
/// the history (archive by export).</summary>
/// <remarks>Reads of sealed segments (listing, export, verify) go to storage directly, one segment at a time, so neither
/// this activation nor segment activations hold the history in memory; verify reads what storage holds now, so an
/// edit made behind the grain's back is found without a restart.</remarks>
[GrainType("audit")]
internal sealed class AuditTrailGrain(
    [PersistentState(AuditTrailGrain.StateName, GrainStorage.Name)] IPersistentState<AuditTrailState> state, TimeProvider time,
    IServiceProvider services) : Grain, IAuditTrailGrain
{
    /// <summary>The one audit grain's key.</summary>
    public const string Key = "audit";

    /// <summary>Entries per sealed segment.</summary>
    internal const int SegmentSize = 128;

    /// <summary>Sources whose newest delivered change is remembered for de-duplication; beyond it the source that
    /// delivered longest ago is forgotten (a retry from it after that many other sources would be appended again,
    /// visible by its repeated change id, never lost).</summary>
    internal const int MaxSources = 4096;

    internal const string StateName = "audit";

    internal const string SegmentStateName = "segment";

    private AuditTrailState State => state.State;

    private IGrainStorage Storage => services.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Name);

    /// <summary>The grain id of sealed segment <paramref name="number"/>.</summary>
    internal static GrainId SegmentId(long number) => GrainId.Create("audit-segment", $"{Key}/{number}");

    public async Task<AuditEntry> AppendAsync(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var change = AuditOutbox.ParseChangeId(entry.ChangeId);
        if (change is { } c && State.Delivered.TryGetValue(c.Source, out var delivered) && c.Number <= delivered.Number)
        {
            // A retried delivery (the source did not learn that its earlier attempt landed).
            return entry with { Sequence = c.Number == delivered.Number ? delivered.Sequence : 0 };
        }

        if (State.Tail.Count >= SegmentSize)
        {
            await SealTailAsync();
        }

        var now = time.GetUtcNow();
        var stored = AuditChain.Link(entry, State.LastSequence + 1, now > State.LastAt ? now : State.LastAt, State.HeadHash);
        State.Tail.Add(stored);
        State.LastSequence = stored.Sequence;
        State.HeadHash = stored.Hash;
        State.LastAt = stored.At;
        if (change is { } d)
        {
            State.Delivered[d.Source] = new DeliveredChange(d.Number, stored.Sequence);
            if (State.Delivered.Count > MaxSources)
            {
                State.Delivered.Remove(State.Delivered.MinBy(p => p.Value.Sequence).Key);
            }
        }

        // A failed write deactivates this activation, so the next call reloads the head storage holds.
        await state.WriteOrReloadAsync(this);
        return stored;
    }

    public async Task<IReadOnlyList<AuditEntry>> ListAsync(int limit)
    {
        var take = Math.Max(0, limit);
        var newest = new List<AuditEntry>(Math.Min(take, 1024));
        for (var i = State.Tail.Count - 1; i >= 0 && newest.Count < take; i--)
        {
            newest.Add(State.Tail[i]);
        }

        for (var segment = State.NextSegment - 1; segment >= 0 && newest.Count < take; segment--)
        {
            var entries = await ReadSegmentAsync(segment) ?? [];
            for (var i = entries.Count - 1; i >= 0 && newest.Count < take; i--)
            {
                newest.Add(entries[i]);
            }
        }

        return newest;
    }

    public Task<AuditHead> GetHeadAsync() =>
        Task.FromResult(new AuditHead(State.LastSequence, State.HeadHash, State.NextSegment, [.. State.Tail]));

    public async Task<IReadOnlyList<AuditEntry>?> ReadSegmentAsync(long number)
    {
        if (number < 0 || number >= State.NextSegment)
        {
            return null;
        }

        var stored = new GrainState<AuditSegmentState>(new AuditSegmentState());
        await Storage.ReadStateAsync(SegmentStateName, SegmentId(number), stored);
        return stored.RecordExists ? stored.State?.Entries ?? [] : null;
    }

    public async Task<AuditVerification> VerifyAsync()
    {
        var walk = new AuditChainWalk();
        var stored = new GrainState<AuditTrailState>(new AuditTrailState());
        await Storage.ReadStateAsync(StateName, this.GetGrainId(), stored);
        var head = stored.RecordExists && stored.State is { } h ? h : null;
        var segments = head?.NextSegment ?? State.NextSegment;
        for (long segment = 0; segment < segments; segment++)
        {
            var read = new GrainState<AuditSegmentState>(new AuditSegmentState());
            await Storage.ReadStateAsync(SegmentStateName, SegmentId(segment), read);
            var entries = read.RecordExists ? read.State?.Entries : null;
            if (entries is null || entries.Count == 0)
            {
                walk.Break(segment * SegmentSize + 1,
                    $"segment {segment} (entries {segment * SegmentSize + 1}..{(segment + 1) * SegmentSize}) is missing from storage");
                continue;
            }

            foreach (var entry in entries)
            {
                walk.Accept(entry);
            }
        }

        // A sealed segment past the head means the head was reset or rolled back to an older copy.
        var beyond = new GrainState<AuditSegmentState>(new AuditSegmentState());
        await Storage.ReadStateAsync(SegmentStateName, SegmentId(segments), beyond);
        if (beyond.RecordExists && beyond.State?.Entries is { Count: > 0 })
        {
            walk.Break(segments * SegmentSize + 1, $"segment {segments} exists beyond the head: the head was reset or rolled back");
        }

        if (head is null)
        {
            if (State.LastSequence > 0)
            {
                walk.Break(segments * SegmentSize + 1, "the trail's head (its newest entries) is missing from storage");
            }

            return new AuditVerification(walk.FirstBroken is null, walk.Entries, State.HeadHash, State.LastSequence, walk.FirstBroken);
        }

        foreach (var entry in head.Tail)
        {
            walk.Accept(entry);
        }

        if (walk.LastSequence != head.LastSequence)
        {
            walk.Break(Math.Min(walk.LastSequence, head.LastSequence) + 1,
                $"truncated: the head records {head.LastSequence} entries, storage holds entries up to {walk.LastSequence}");
        }
        else if (!string.Equals(walk.LastHash, head.HeadHash, StringComparison.Ordinal))
        {
            walk.Break(head.LastSequence, "the head hash does not match the last stored entry");
        }

        if (head.LastSequence != State.LastSequence || !string.Equals(head.HeadHash, State.HeadHash, StringComparison.Ordinal))
        {
            walk.Break(Math.Min(head.LastSequence, State.LastSequence) + 1,
                $"the stored head (entry {head.LastSequence}) differs from the live head (entry {State.LastSequence}): rewritten in storage");
        }

        return new AuditVerification(walk.FirstBroken is null, walk.Entries, head.HeadHash, head.LastSequence, walk.FirstBroken);
    }

    // The segment is written before the head forgets the entries: a failure in between leaves them in both, and the
    // retried seal finds the same segment already written.
    private async Task SealTailAsync()
    {
        await GrainFactory.GetGrain<IAuditSegmentGrain>($"{Key}/{State.NextSegment}").SealAsync([.. State.Tail]);
        State.Tail.Clear();
        State.NextSegment++;
        await state.WriteOrReloadAsync(this);
    }
}

/// <summary>Persisted entries of one sealed audit segment.</summary>
[GenerateSerializer, Alias("cp.AuditSegmentState")]
public sealed class AuditSegmentState
{
    /// <summary>The entries, oldest first.</summary>
    [Id(0)]
    public List<AuditEntry> Entries { get; set; } = [];
}

/// <summary>One sealed segment of the audit trail: written once, never rewritten or cleared.</summary>
[GrainType("audit-segment")]
internal sealed class AuditSegmentGrain(
    [PersistentState(AuditTrailGrain.SegmentStateName, GrainStorage.Name)] IPersistentState<AuditSegmentState> state)
    : Grain, IAuditSegmentGrain
{
    public async Task SealAsync(IReadOnlyList<AuditEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (state.RecordExists)
        {
            var existing = state.State.Entries;
            if (existing.Count == entries.Count && (entries.Count == 0 || existing[^1].Hash == entries[^1].Hash))
            {
                return;
            }

            throw new InvalidOperationException($"audit segment {this.GetPrimaryKeyString()} is sealed with other entries; it is never rewritten");
        }

        state.State.Entries = [.. entries];
        await state.WriteStateAsync();
    }

    public Task<IReadOnlyList<AuditEntry>> GetEntriesAsync() => Task.FromResult<IReadOnlyList<AuditEntry>>(state.State.Entries);
}
