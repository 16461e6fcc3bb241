using ControlPlane.Grains;
using ControlPlane.Service.Grains;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Audit;

/// <summary>Persisted audit trail.</summary>
internal sealed class AuditTrailState
{
    /// <summary>Entries, oldest first.</summary>
    public List<AuditEntry> Entries { get; set; } = [];

    /// <summary>The last sequence number handed out.</summary>
    public long LastSequence { get; set; }
}

/// <summary>Who changed what, when and why: one grain, written before the append returns, so an
/// acknowledged admin change always has its entry.</summary>
[GrainType("audit")]
internal sealed class AuditTrailGrain(IOptions<ControlPlaneOptions> options) : Grain<AuditTrailState>, IAuditTrailGrain
{
    /// <summary>The one audit grain's key.</summary>
    public const string Key = "audit";

    public async Task<AuditEntry> AppendAsync(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var stored = entry with { Sequence = State.LastSequence + 1, At = TimeProvider.GetUtcNow() };
        State.LastSequence = stored.Sequence;
        State.Entries.Add(stored);
        var keep = options.Value.AuditEntriesKept;
        if (State.Entries.Count > keep)
        {
            State.Entries.RemoveRange(0, State.Entries.Count - keep);
        }

        await WriteStateAsync();
        return stored;
    }

    public Task<IReadOnlyList<AuditEntry>> ListAsync(int limit)
    {
        var count = Math.Clamp(limit, 0, State.Entries.Count);
        IReadOnlyList<AuditEntry> newest = State.Entries.Skip(State.Entries.Count - count).Reverse().ToList();
        return Task.FromResult(newest);
    }
}
