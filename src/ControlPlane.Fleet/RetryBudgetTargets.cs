namespace ControlPlane.Fleet;

/// <summary>A workload class's cluster-wide retry budget (the fleet file's optional <c>retry_budget</c>), in the manner
/// of Envoy's and Finagle's retry budgets: over any <see cref="Window"/>, the cluster admits at most
/// <c><see cref="Ratio"/> × first attempts + <see cref="MinPerSecond"/> × window seconds</c> retries (Route calls with
/// <c>attempt</c> &gt; 0) of the class; a retry over it gets no endpoint (<c>retry_budget_exhausted</c>).</summary>
public sealed record RetryBudgetTargets
{
    /// <summary>The budget of a class whose entry gives no <c>retry_budget</c>.</summary>
    public static readonly RetryBudgetTargets Default = new();

    /// <summary>Largest <see cref="Ratio"/>: ten retries per first attempt (a budget that never binds).</summary>
    public const double MaxRatio = 10;

    /// <summary>Largest <see cref="MinPerSecond"/>.</summary>
    public const double MaxMinPerSecond = 100_000;

    /// <summary>Shortest and longest <see cref="Window"/>.</summary>
    public static readonly TimeSpan MinWindow = TimeSpan.FromSeconds(1);

    /// <inheritdoc cref="MinWindow"/>
    public static readonly TimeSpan MaxWindow = TimeSpan.FromMinutes(5);

    /// <summary>Retries admitted per first attempt (<c>ratio</c>).
    /// <value>Between 0 and <see cref="MaxRatio"/>. Defaults to 0.2 (Envoy's and Finagle's default).</value></summary>
    public double Ratio { get; init; } = 0.2;

    /// <summary>Retries per second the class may always make, whatever its first-attempt traffic (<c>min_per_second</c>),
    /// so a quiet class can still retry; split evenly across the nodes routing the class.
    /// <value>Between 0 and <see cref="MaxMinPerSecond"/>. Defaults to 5.</value></summary>
    public double MinPerSecond { get; init; } = 5;

    /// <summary>How long a first attempt counts towards the budget (<c>window_seconds</c>).
    /// <value>Between 1 s and 5 min, whole seconds. Defaults to 10 s (Finagle's TTL).</value></summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(10);
}
