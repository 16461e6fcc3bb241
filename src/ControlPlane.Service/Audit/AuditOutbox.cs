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

/// <summary>One grain's audit outbox: stages entries into the grain's state, delivers them after the grain persisted
/// them, and retries a failed delivery on a grain timer (and after a reactivation) until the trail has them.</summary>
/// <param name="grain">The changing grain (its grain id is the source of its change ids).</param>
/// <param name="grains">The grain's factory (reaches the trail).</param>
/// <param name="outbox">The outbox inside the grain's current persisted state.</param>
/// <param name="logger">Where failed deliveries are reported.</param>
internal sealed class GrainAuditOutbox(Grain grain, IGrainFactory grains, Func<AuditOutboxState> outbox, ILogger logger)
{
    /// <summary>How often a failed delivery is retried.</summary>
    internal static readonly TimeSpan RetryPeriod = TimeSpan.FromSeconds(5);

    /// <summary>Undelivered entries one grain may hold; beyond it the grain takes no further change until the trail
    /// takes them (so its state stays small, and a trail that is down for long stops admin changes rather than
    /// letting their record pile up unseen).</summary>
    internal const int MaxPending = 100;

    private IGrainTimer? _retry;
    // Staged in this turn and not yet logged: logged (TelemetryLog.AdminChange) once persisted, when delivery starts.
    private readonly List<AuditEntry> _unlogged = [];

    /// <summary>Staged entries not yet known to be in the trail.</summary>
    public int Pending => outbox().Pending.Count;

    /// <summary>Call before applying a change: when <see cref="MaxPending"/> entries await delivery, delivers them now
    /// and, if the trail still cannot take them, refuses the change (<see cref="IOException"/>: unavailable, nothing applied).</summary>
    public async Task EnsureRoomAsync()
    {
        // A change begins: an entry staged by an earlier change whose write failed was never persisted, so never logged.
        _unlogged.Clear();
        if (outbox().Pending.Count < MaxPending)
        {
            return;
        }

        await AuditOutbox.DeliverAsync(outbox(), grains, logger);
        if (outbox().Pending.Count >= MaxPending)
        {
            throw new IOException($"the audit trail is unreachable: {outbox().Pending.Count} changes of {grain.GetGrainId()} await their audit entry; no further change until they are recorded");
        }
    }

    /// <summary>Stages <paramref name="entry"/>; the caller then persists its state (with the change) and calls
    /// <see cref="DeliverAsync"/>.</summary>
    public AuditEntry Stage(AuditEntry entry)
    {
        var staged = AuditOutbox.Stage(outbox(), grain.GetGrainId().ToString(), entry);
        _unlogged.Add(staged);
        return staged;
    }

    /// <summary>Delivers what is staged; on failure the retry timer takes over (the change stands: its entry is persisted).</summary>
    public async Task DeliverAsync()
    {
        foreach (var entry in _unlogged)
        {
            Telemetry.TelemetryLog.AdminChange(logger, entry.Actor.Principal, entry.Action, entry.Target);
        }

        _unlogged.Clear();
        if (!await AuditOutbox.DeliverAsync(outbox(), grains, logger))
        {
            ScheduleRetry(RetryPeriod);
        }
    }

    /// <summary>On activation: entries an earlier activation persisted but may not have delivered are delivered soon.</summary>
    public void Resume()
    {
        if (outbox().Pending.Count > 0)
        {
            ScheduleRetry(TimeSpan.Zero);
        }
    }

    private void ScheduleRetry(TimeSpan due)
    {
        _retry ??= grain.RegisterGrainTimer(async _ =>
        {
            if (await AuditOutbox.DeliverAsync(outbox(), grains, logger))
            {
                _retry?.Dispose();
                _retry = null;
            }
        }, new GrainTimerCreationOptions(due, RetryPeriod));
    }
}
