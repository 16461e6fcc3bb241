namespace ControlPlane.Drills;

/// <summary>A drill run as <c>controlplane drill</c> was asked for it.</summary>
public sealed record DrillRunOptions
{
    /// <summary>Largest <see cref="Replicas"/>.</summary>
    public const int MaxReplicas = 8;

    /// <summary>The scenario file.</summary>
    public required string ScenarioPath { get; init; }

    /// <summary>The fleet file (default: the sample fleet).</summary>
    public required string FleetPath { get; init; }

    /// <summary>Where <c>&lt;scenario&gt;/report.html</c> and <c>summary.json</c> go (default <c>artifacts/drills</c>).</summary>
    public string OutputDirectory { get; init; } = Path.Combine("artifacts", "drills");

    /// <summary>CI timing: times divided by <see cref="ShortDivisor"/>, keeping each fault at least 30 s and the
    /// recovery window after it.</summary>
    public bool Short { get; init; }

    /// <summary>Control plane nodes: 1 (embedded) or 3 (a cluster on a real redis-server).</summary>
    public int ClusterNodes { get; init; } = 1;

    /// <summary>The target to drill (<c>proxy</c>, or another registered target such as <c>portkey</c>).</summary>
    public string Target { get; init; } = "proxy";

    /// <summary>Replicas of the target.</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>The breaker timing of the drill's control plane.</summary>
    public Stack.DrillTuning Tuning { get; init; } = new();

    /// <summary>Longest one drill request may take (a queue_only hold of 30 s plus a slow model).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>How long the drill waits for requests still in flight at its end.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How <see cref="Short"/> divides the scenario's times.</summary>
    public const double ShortDivisor = 3;

    /// <summary>Shortest fault of a short drill.</summary>
    public static readonly TimeSpan ShortMinFault = TimeSpan.FromSeconds(30);
}
