using ControlPlane.Service.Grains;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Audit;

/// <summary>Persisted head of the audit trail: the newest entries and where the sealed segments are.</summary>
[GenerateSerializer, Alias("cp.AuditTrailState")]
public sealed class AuditTrailState
{
    /// <summary>The newest entries (fewer than a segment), oldest first.</summary>
    [Id(0)]
    public List<AuditEntry> Tail { get; set; } = [];

    /// <summary>The last sequence number handed out.</summary>
    [Id(1)]
    public long LastSequence { get; set; }

    /// <summary>The next segment number to seal.</summary>
    [Id(2)]
    public long NextSegment { get; set; }

    /// <summary>The oldest segment still kept.</summary>
    [Id(3)]
    public long FirstSegment { get; set; }
}

/// <summary>Who changed what, when and why: written before the append returns, so an acknowledged admin change
/// always has its entry. An append rewrites at most one segment's worth of entries (the tail); when the tail is full
/// it is sealed into its own <see cref="AuditSegmentGrain"/> (one write, never rewritten), and segments beyond
/// <see cref="ControlPlaneOptions.AuditEntriesKept"/> are cleared. Storage therefore grows with the retention, not
/// with the square of the history.</summary>
[GrainType("audit")]
internal sealed class AuditTrailGrain(
    [PersistentState("audit", GrainStorage.Name)] IPersistentState<AuditTrailState> state, IOptions<ControlPlaneOptions> options,
    TimeProvider time) : Grain, IAuditTrailGrain
{
    /// <summary>The one audit grain's key.</summary>
    public const string Key = "audit";

    /// <summary>Entries per sealed segment.</summary>
    internal const int SegmentSize = 128;

    private AuditTrailState State => state.State;

    public async Task<AuditEntry> AppendAsync(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (State.Tail.Count >= SegmentSize)
        {
            await SealTailAsync();
        }

        var stored = entry with { Sequence = State.LastSequence + 1, At = time.GetUtcNow() };
        State.Tail.Add(stored);
        State.LastSequence = stored.Sequence;
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

        for (var segment = State.NextSegment - 1; segment >= State.FirstSegment && newest.Count < take; segment--)
        {
            var entries = await Segment(segment).GetEntriesAsync();
            for (var i = entries.Count - 1; i >= 0 && newest.Count < take; i--)
            {
                newest.Add(entries[i]);
            }
        }

        return newest;
    }

    // The segment is written before the head forgets the entries: a failure in between leaves them in both, and the
    // retried seal writes the same segment again.
    private async Task SealTailAsync()
    {
        await Segment(State.NextSegment).SealAsync([.. State.Tail]);
        State.Tail.Clear();
        State.NextSegment++;
        var keep = Math.Max(1, options.Value.AuditEntriesKept / SegmentSize);
        var dropped = new List<long>();
        while (State.NextSegment - State.FirstSegment > keep)
        {
            dropped.Add(State.FirstSegment);
            State.FirstSegment++;
        }

        await state.WriteOrReloadAsync(this);
        foreach (var segment in dropped)
        {
            await Segment(segment).ClearAsync();
        }
    }

    private IAuditSegmentGrain Segment(long number) => GrainFactory.GetGrain<IAuditSegmentGrain>($"{Key}/{number}");
}

/// <summary>Persisted entries of one sealed audit segment.</summary>
[GenerateSerializer, Alias("cp.AuditSegmentState")]
public sealed class AuditSegmentState
{
    /// <summary>The entries, oldest first.</summary>
    [Id(0)]
    public List<AuditEntry> Entries { get; set; } = [];
}

/// <summary>One sealed segment of the audit trail: written once.</summary>
[GrainType("audit-segment")]
internal sealed class AuditSegmentGrain([PersistentState("segment", GrainStorage.Name)] IPersistentState<AuditSegmentState> state)
    : Grain, IAuditSegmentGrain
{
    public async Task SealAsync(IReadOnlyList<AuditEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (state.RecordExists && state.State.Entries.Count == entries.Count)
        {
            return;
        }

        state.State.Entries = [.. entries];
        await state.WriteStateAsync();
    }

    public Task<IReadOnlyList<AuditEntry>> GetEntriesAsync() => Task.FromResult<IReadOnlyList<AuditEntry>>(state.State.Entries);

    public async Task ClearAsync()
    {
        await state.ClearStateAsync();
        this.DeactivateOnIdle();
    }
}
