using ControlPlane.Service.Grains;

namespace ControlPlane.Service.Audit;

/// <summary>Where the trail first stops being intact.</summary>
/// <param name="Sequence">The first sequence that is missing, out of order or fails its check.</param>
/// <param name="Reason">What is wrong there, in words.</param>
[Immutable]
public sealed record AuditBreak(long Sequence, string Reason);

/// <summary>The result of walking the whole stored trail, oldest first.</summary>
/// <param name="Ok">True when every entry is present, linked and unaltered, and the head agrees with the entries.</param>
/// <param name="Entries">Entries read from storage.</param>
/// <param name="Head">The head hash the trail's head records (hex SHA-256; empty for an empty trail): write it down
/// somewhere else to detect a later rewrite of the whole trail.</param>
/// <param name="LastSequence">The last sequence the head records.</param>
/// <param name="FirstBroken">The first break, or null when <paramref name="Ok"/>.</param>
[Immutable]
public sealed record AuditVerification(bool Ok, long Entries, string Head, long LastSequence, AuditBreak? FirstBroken);

/// <summary>A consistent view of the trail's head: the newest entries and how many sealed segments precede them.</summary>
/// <param name="LastSequence">The last sequence handed out.</param>
/// <param name="HeadHash">The hash of that entry.</param>
/// <param name="Segments">Sealed segments <c>0..Segments-1</c>, each of exactly
/// <see cref="AuditTrailGrain.SegmentSize"/> entries, hold sequences <c>1..Segments*SegmentSize</c>.</param>
/// <param name="Tail">The entries after the sealed segments, oldest first.</param>
[Immutable]
public sealed record AuditHead(long LastSequence, string HeadHash, long Segments, IReadOnlyList<AuditEntry> Tail);

/// <summary>Which entries a listing or export wants. Every filter is optional; text filters match exactly.</summary>
/// <param name="Limit">Page size (listing only).</param>
/// <param name="Before">Only entries with a smaller sequence (the page cursor).</param>
/// <param name="Since">Only entries at or after this time.</param>
/// <param name="Until">Only entries before this time.</param>
/// <param name="Actor">Only entries by this principal.</param>
/// <param name="Target">Only entries about this target.</param>
/// <param name="Action">Only entries of this action.</param>
public sealed record AuditQuery(int Limit = 100, long? Before = null, DateTimeOffset? Since = null, DateTimeOffset? Until = null,
    string? Actor = null, string? Target = null, string? Action = null)
{
    /// <summary>True when <paramref name="entry"/> passes every filter except <see cref="Before"/>.</summary>
    public bool Matches(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return (Since is not { } since || entry.At >= since)
            && (Until is not { } until || entry.At < until)
            && (Actor is null || string.Equals(entry.Actor?.Principal, Actor, StringComparison.Ordinal))
            && (Target is null || string.Equals(entry.Target, Target, StringComparison.Ordinal))
            && (Action is null || string.Equals(entry.Action, Action, StringComparison.Ordinal));
    }
}

/// <summary>One page of a listing, newest first.</summary>
/// <param name="Entries">The matching entries, newest first.</param>
/// <param name="Next">Pass as <c>before</c> for the next (older) page; null when nothing older remains.</param>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, long? Next);
