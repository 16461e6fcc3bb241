namespace ControlPlane.Service.Alerting.Delivery;

/// <summary>One team's durable alert outbox (key: the team name from the fleet file's <c>teams:</c>). A notice is
/// accepted once per (key, sequence), persisted with one delivery per matching receiver before the call returns, and
/// delivered afterwards, off the grain's turn, with backoff, in per-key order.</summary>
[Alias("cp.IAlertOutboxGrain")]
public interface IAlertOutboxGrain : IGrainWithStringKey
{
    /// <summary>Accepts <paramref name="notice"/> for the team's receivers whose kinds and minimum severity match;
    /// returns how many deliveries were queued (0 for a republished notice or when no receiver takes it).</summary>
    [Alias("enqueue")]
    Task<int> EnqueueAsync(AlertNotice notice);

    /// <summary>Queues a test notice to every enabled receiver of the team; returns how many deliveries were queued.</summary>
    [Alias("test")]
    Task<int> SendTestAsync(string principal, string reason);

    /// <summary>Activates the outbox so queued deliveries continue after a restart (no-op when nothing is queued).</summary>
    [Alias("resume")]
    Task ResumeAsync();

    /// <summary>Records how attempts that ran off the grain's turn ended: <paramref name="released"/> are the deliveries
    /// taken for <paramref name="receiver"/> (attempted or not), <paramref name="attempts"/> those that were attempted.</summary>
    [Alias("complete")]
    Task CompleteAsync(string receiver, IReadOnlyList<long> released, IReadOnlyList<AlertAttemptReport> attempts);

    /// <summary>The team's delivery counts, queue and recent failures.</summary>
    [Alias("deliveries")]
    Task<TeamDeliveriesView> GetDeliveriesAsync();
}

/// <summary>How one attempt ended, reported back to the outbox.</summary>
/// <param name="Id">The delivery's id in the outbox.</param>
/// <param name="Delivered">The receiver took it.</param>
/// <param name="Retryable">A failure worth another attempt.</param>
/// <param name="Error">What went wrong (bounded; never the URL).</param>
/// <param name="RetryAfter">The receiver's <c>Retry-After</c>, when given.</param>
public sealed record AlertAttemptReport(long Id, bool Delivered, bool Retryable, string? Error, TimeSpan? RetryAfter);

/// <summary>One team's deliveries (<c>GET /admin/v1/alerts/deliveries</c>).</summary>
/// <param name="Team">The team.</param>
/// <param name="Queued">Deliveries waiting (first attempt or a retry).</param>
/// <param name="Delivered">Deliveries receivers took, since the outbox began.</param>
/// <param name="Failed">Deliveries given up, since the outbox began.</param>
/// <param name="LastError">The most recent failed attempt's error, or null.</param>
/// <param name="LastErrorAt">When it happened.</param>
/// <param name="LastDeliveredAt">When a receiver last took a notice.</param>
/// <param name="Receivers">The same per receiver.</param>
/// <param name="RecentFailures">The most recent given-up deliveries, newest last.</param>
public sealed record TeamDeliveriesView(string Team, int Queued, long Delivered, long Failed, string? LastError, DateTimeOffset? LastErrorAt,
    DateTimeOffset? LastDeliveredAt, IReadOnlyList<ReceiverDeliveriesView> Receivers, IReadOnlyList<FailedAlertDelivery> RecentFailures);

/// <summary>One receiver's deliveries.</summary>
/// <param name="Name">The receiver's name.</param>
/// <param name="Type">webhook, slack or pagerduty.</param>
/// <param name="Enabled">False when its URL or key variable is unset (or the receiver left the fleet file).</param>
/// <param name="Queued">Deliveries waiting.</param>
/// <param name="Delivered">Deliveries it took.</param>
/// <param name="Failed">Deliveries given up.</param>
/// <param name="Retried">Failed attempts that were retried.</param>
/// <param name="LastError">Its most recent failed attempt's error, or why it is disabled.</param>
/// <param name="LastErrorAt">When that attempt failed.</param>
public sealed record ReceiverDeliveriesView(string Name, string Type, bool Enabled, int Queued, long Delivered, long Failed, long Retried,
    string? LastError, DateTimeOffset? LastErrorAt);

/// <summary>A delivery that was given up.</summary>
/// <param name="Key">The alert key.</param>
/// <param name="Sequence">The notice's sequence.</param>
/// <param name="Receiver">The receiver's name.</param>
/// <param name="Attempts">Attempts made.</param>
/// <param name="Error">The last error.</param>
/// <param name="QueuedAt">When it was accepted.</param>
/// <param name="GaveUpAt">When it was given up.</param>
public sealed record FailedAlertDelivery(string Key, long Sequence, string Receiver, int Attempts, string Error, DateTimeOffset QueuedAt, DateTimeOffset GaveUpAt);
