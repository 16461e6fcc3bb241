using System.Globalization;
using ControlPlane.Service.Grains;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Audit;

/// <summary>A grain's audit entries that are persisted with its state but not yet known to be in the trail.</summary>
[GenerateSerializer, Alias("cp.AuditOutboxState")]
public sealed class AuditOutboxState
{
    /// <summary>Change numbers handed out so far (the next change is this + 1).</summary>
    [Id(0)]
    public long Issued { get; set; }

    /// <summary>Staged entries, oldest first, each with its <see cref="AuditEntry.ChangeId"/>.</summary>
    [Id(1)]
    public List<AuditEntry> Pending { get; set; } = [];
}

/// <summary>The audit outbox: a change and its audit entry are persisted in ONE write of the changing grain's own state
/// (the entry staged in <see cref="AuditOutboxState.Pending"/>), then the entry is delivered to the trail. A delivery
/// that fails leaves the entry staged; it is delivered again with the grain's next change, on its next activation or
/// by <see cref="DeliverAsync"/> from a retry timer. The trail recognises a repeat by the entry's change id
/// (<c>{source}#{number}</c>, numbers increasing per source) and appends it once. So an acknowledged change always
/// reaches the trail, even when the trail's storage fails at the moment of the change.</summary>
internal static class AuditOutbox
{
    /// <summary>Numbers <paramref name="entry"/> as the source's next change and stages it; persist the source's state
    /// (with the change) before delivering.</summary>
    public static AuditEntry Stage(AuditOutboxState outbox, string source, AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(entry);
        outbox.Issued++;
        var staged = entry with { ChangeId = string.Create(CultureInfo.InvariantCulture, $"{source}#{outbox.Issued}") };
        outbox.Pending.Add(staged);
        return staged;
    }

    /// <summary>Takes back a staged entry whose change was not persisted (the change is not acknowledged either).</summary>
    public static void Unstage(AuditOutboxState outbox, AuditEntry staged)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        outbox.Pending.Remove(staged);
    }

    /// <summary>Delivers the staged entries in order; stops at the first failure (logged) and returns false, leaving it
    /// and the later ones staged. Delivered entries leave <see cref="AuditOutboxState.Pending"/> in memory; that is
    /// persisted with the grain's next write (until then a reactivation delivers them again, which the trail ignores).</summary>
    public static async Task<bool> DeliverAsync(AuditOutboxState outbox, IGrainFactory grains, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(grains);
        var trail = grains.GetGrain<IAuditTrailGrain>(AuditTrailGrain.Key);
        while (outbox.Pending.Count > 0)
        {
            var entry = outbox.Pending[0];
            try
            {
                await trail.AppendAsync(entry);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                logger.LogWarning(error, "Audit entry {ChangeId} ({Action} on {Target}) not delivered yet; it stays staged and is retried.",
                    entry.ChangeId, entry.Action, entry.Target);
                return false;
            }

            outbox.Pending.RemoveAt(0);
        }

        return true;
    }

    /// <summary>The source and number of a change id, or null when <paramref name="changeId"/> is not one.</summary>
    public static (string Source, long Number)? ParseChangeId(string? changeId)
    {
        var hash = changeId?.LastIndexOf('#') ?? -1;
        if (changeId is null || hash <= 0
            || !long.TryParse(changeId.AsSpan(hash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number <= 0)
        {
            return null;
        }

        return (changeId[..hash], number);
    }
}
