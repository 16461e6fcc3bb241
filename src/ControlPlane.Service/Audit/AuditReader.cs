using System.Runtime.CompilerServices;
using ControlPlane.Service.Grains;

namespace ControlPlane.Service.Audit;

/// <summary>Pages and exports of the audit trail, read one sealed segment at a time from a consistent head (sealed
/// segments never change, so a page or export started before a seal still sees every entry exactly once).</summary>
internal sealed class AuditReader(IGrainFactory grains)
{
    /// <summary>Entries a single page may examine before it returns what it found with a cursor to continue from: a
    /// filter that matches little never walks the whole history in one request.</summary>
    internal const int ScanBudget = 20_000;

    private IAuditTrailGrain Trail => grains.GetGrain<IAuditTrailGrain>(AuditTrailGrain.Key);

    /// <summary>Matching entries newest first, up to <see cref="AuditQuery.Limit"/>, below <see cref="AuditQuery.Before"/>.</summary>
    public async Task<AuditPage> PageAsync(AuditQuery query, int scanBudget = ScanBudget)
    {
        ArgumentNullException.ThrowIfNull(query);
        var head = await Trail.GetHeadAsync();
        var from = Math.Min(query.Before is { } before ? before - 1 : head.LastSequence, head.LastSequence);
        var found = new List<AuditEntry>(Math.Min(query.Limit, 256));
        var tailStart = head.Segments * AuditTrailGrain.SegmentSize;
        var scanned = 0;
        var sequence = from;
        while (sequence >= 1)
        {
            IReadOnlyList<AuditEntry> chunk;
            long chunkStart;
            if (sequence > tailStart)
            {
                chunk = head.Tail;
                chunkStart = tailStart;
            }
            else
            {
                var segment = (sequence - 1) / AuditTrailGrain.SegmentSize;
                chunk = await Trail.ReadSegmentAsync(segment) ?? [];
                chunkStart = segment * AuditTrailGrain.SegmentSize;
            }

            for (var i = chunk.Count - 1; i >= 0; i--)
            {
                var entry = chunk[i];
                if (entry.Sequence > sequence)
                {
                    continue;
                }

                scanned++;
                if (query.Since is { } since && entry.At < since)
                {
                    // Times never go back along the trail: nothing older can match.
                    return new AuditPage(found, null);
                }

                if (query.Matches(entry))
                {
                    found.Add(entry);
                    if (found.Count == query.Limit)
                    {
                        return new AuditPage(found, entry.Sequence > 1 ? entry.Sequence : null);
                    }
                }
            }

            sequence = chunkStart;
            if (scanned >= scanBudget && sequence >= 1)
            {
                return new AuditPage(found, sequence + 1);
            }
        }

        return new AuditPage(found, null);
    }

    /// <summary>Every matching entry, oldest first, as of the head when the export starts; one segment in memory at a time.</summary>
    public async IAsyncEnumerable<AuditEntry> ExportAsync(AuditQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var head = await Trail.GetHeadAsync();
        for (long segment = 0; segment < head.Segments; segment++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var entries = await Trail.ReadSegmentAsync(segment) ?? [];
            if (entries.Count > 0 && query.Since is { } since && entries[^1].At < since)
            {
                continue;
            }

            if (entries.Count > 0 && query.Until is { } until && entries[0].At >= until)
            {
                yield break;
            }

            foreach (var entry in entries)
            {
                if (query.Matches(entry))
                {
                    yield return entry;
                }
            }
        }

        foreach (var entry in head.Tail)
        {
            if (query.Matches(entry))
            {
                yield return entry;
            }
        }
    }
}
