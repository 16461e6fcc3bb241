namespace ControlPlane.Service.Dashboard;

/// <summary>The live dashboard's limits (docs/dashboard.md). Every default is validated at start.</summary>
internal sealed class DashboardOptions
{
    /// <summary>How often the node's sampler takes the snapshot figures into the history ring. Default 10 s.</summary>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How far back the history ring reaches. Default 1 hour (360 samples at the default interval).</summary>
    public TimeSpan HistoryWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The freshest a snapshot is rebuilt for: snapshot requests and streams within this interval share one
    /// build (one fan-out of grain calls). Streams send at most one snapshot event per interval. Default 1 s.</summary>
    public TimeSpan SnapshotInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A stream with nothing new sends a comment line this often, so proxies keep it open and the page sees
    /// the connection alive. Default 15 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Concurrent event streams this node serves; one more is answered 503. Default 32.</summary>
    public int MaxStreams { get; set; } = 32;

    /// <summary>Latest audit entries in a snapshot. Default 20.</summary>
    public int AuditEntries { get; set; } = 20;

    /// <summary>Endpoints kept per history sample (the fleet file's endpoints in order; later ones are left out of the
    /// charts). Default 64.</summary>
    public int MaxChartedEndpoints { get; set; } = 64;

    /// <summary>The number of samples the ring holds.</summary>
    public int HistoryCapacity => (int)Math.Ceiling(HistoryWindow / SampleInterval);

    /// <summary>Throws when a value is out of its range.</summary>
    public void Validate()
    {
        Require(SampleInterval >= TimeSpan.FromSeconds(1) && SampleInterval <= TimeSpan.FromMinutes(5), nameof(SampleInterval), "between 1 s and 5 min");
        Require(HistoryWindow >= SampleInterval && HistoryWindow <= TimeSpan.FromHours(6), nameof(HistoryWindow), "between the sample interval and 6 h");
        Require(HistoryCapacity <= 10_000, nameof(HistoryWindow), "at most 10000 samples of the sample interval");
        Require(SnapshotInterval >= TimeSpan.FromMilliseconds(100) && SnapshotInterval <= TimeSpan.FromMinutes(1), nameof(SnapshotInterval), "between 100 ms and 1 min");
        Require(HeartbeatInterval >= SnapshotInterval && HeartbeatInterval <= TimeSpan.FromMinutes(5), nameof(HeartbeatInterval), "between the snapshot interval and 5 min");
        Require(MaxStreams is >= 1 and <= 1024, nameof(MaxStreams), "between 1 and 1024");
        Require(AuditEntries is >= 0 and <= 200, nameof(AuditEntries), "between 0 and 200");
        Require(MaxChartedEndpoints is >= 1 and <= 1024, nameof(MaxChartedEndpoints), "between 1 and 1024");
    }

    private static void Require(bool ok, string name, string range)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(name, $"Dashboard option {name} must be {range}.");
        }
    }
}
