using System.Text.Json;
using System.Text.Json.Serialization;
using ControlPlane.Drills.Measurement;
using ControlPlane.Drills.Observation;

namespace ControlPlane.Drills.Report;

/// <summary>The drill's <c>summary.json</c>: everything the HTML report shows, as data.</summary>
public sealed record DrillSummary
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Scenario name.</summary>
    public required string Scenario { get; init; }

    /// <summary>Scenario description.</summary>
    public string Description { get; init; } = "";

    /// <summary>The target drilled (proxy, portkey).</summary>
    public required string Target { get; init; }

    /// <summary>Whether the short (CI) timing was used.</summary>
    public bool Short { get; init; }

    /// <summary>Wall time the drill clock started.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>Drill length in seconds.</summary>
    public double DurationSeconds { get; init; }

    /// <summary>Requests sent.</summary>
    public long RequestsSent { get; init; }

    /// <summary>Per class figures.</summary>
    public IReadOnlyList<ClassReport> Classes { get; init; } = [];

    /// <summary>Per fault figures.</summary>
    public IReadOnlyList<IncidentReport> Incidents { get; init; } = [];

    /// <summary>Budgets and spend as the control plane held them at the end.</summary>
    public IReadOnlyList<ClassBudgetSample> ControlPlaneBudgets { get; init; } = [];

    /// <summary>Endpoints' breaker and health figures as the control plane held them at the end.</summary>
    public IReadOnlyList<EndpointHealthSample> ControlPlaneEndpoints { get; init; } = [];

    /// <summary>The targets and verdicts.</summary>
    public IReadOnlyList<TargetLine> Targets { get; init; } = [];

    /// <summary>True when no target failed.</summary>
    public bool Pass => Targets.All(t => t.Pass != false);

    /// <summary>Total cost of the drill's answers.</summary>
    public decimal CostUsd => Classes.Sum(c => c.CostUsd);

    /// <summary>Attempts per endpoint per second (the chart's data).</summary>
    public IReadOnlyDictionary<string, long[]> TrafficByEndpoint { get; init; } = new Dictionary<string, long[]>();

    /// <summary>What the traffic chart counts: simulator attempts, or answers by serving endpoint.</summary>
    public string TrafficBasis { get; init; } = "";

    /// <summary>Admin polls that failed (a high count makes detection times coarse).</summary>
    public int FailedAdminPolls { get; init; }

    /// <summary>Serialized as snake_case JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a summary written by <see cref="ToJson"/> (tests, the comparison page).</summary>
    public static JsonDocument Parse(string json) => JsonDocument.Parse(json);
}
