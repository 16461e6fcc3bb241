namespace ControlPlane.Service.Alerting.Delivery;

/// <summary>A team outbox's persisted state.</summary>
[GenerateSerializer, Alias("cp.AlertOutboxState")]
public sealed class AlertOutboxState
{
    /// <summary>Deliveries waiting, in acceptance order (per key, a later sequence is always after an earlier one).</summary>
    [Id(0)]
    public List<QueuedAlertDelivery> Queue { get; set; } = [];

    /// <summary>The highest sequence accepted per alert key (a republished notice is not queued again).</summary>
    [Id(1)]
    public Dictionary<string, long> Accepted { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Counts per receiver name.</summary>
    [Id(2)]
    public Dictionary<string, ReceiverDeliveryCounts> Receivers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The most recent given-up deliveries, oldest first.</summary>
    [Id(3)]
    public List<FailedAlertDelivery> Failures { get; set; } = [];

    /// <summary>The last delivery id handed out.</summary>
    [Id(4)]
    public long LastId { get; set; }

    /// <summary>The last test notice's sequence.</summary>
    [Id(5)]
    public long LastTestSequence { get; set; }
}

/// <summary>One notice waiting for one receiver.</summary>
public sealed class QueuedAlertDelivery
{
    /// <summary>The outbox's id for it (grows with acceptance order).</summary>
    public long Id { get; set; }

    /// <summary>The notice.</summary>
    public required AlertNotice Notice { get; set; }

    /// <summary>The receiver's name in the team.</summary>
    public required string Receiver { get; set; }

    /// <summary>True for a test notice (all enabled receivers, PagerDuty severity info).</summary>
    public bool Test { get; set; }

    /// <summary>Failed attempts so far.</summary>
    public int Attempts { get; set; }

    /// <summary>When it was accepted (its age decides when it is given up).</summary>
    public DateTimeOffset QueuedAt { get; set; }

    /// <summary>When the next attempt is due.</summary>
    public DateTimeOffset NextAttemptAt { get; set; }

    /// <summary>The last attempt's error.</summary>
    public string? LastError { get; set; }
}

/// <summary>Counts of one receiver.</summary>
public sealed class ReceiverDeliveryCounts
{
    /// <summary>Deliveries it took.</summary>
    public long Delivered { get; set; }

    /// <summary>Deliveries given up.</summary>
    public long Failed { get; set; }

    /// <summary>Failed attempts retried.</summary>
    public long Retried { get; set; }

    /// <summary>The last failed attempt's error.</summary>
    public string? LastError { get; set; }

    /// <summary>When it failed.</summary>
    public DateTimeOffset? LastErrorAt { get; set; }

    /// <summary>When it last took a notice.</summary>
    public DateTimeOffset? LastDeliveredAt { get; set; }
}
