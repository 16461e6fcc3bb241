using ControlPlane.Domain.Routing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.DataPlane;

/// <summary>The class's retry budget on the Route path (<see cref="RetryBudgets"/>).</summary>
internal sealed partial class RoutingNode
{
    /// <summary>Counts a first attempt, or admits a retry against the class's retry budget (counted in the metrics).
    /// False for a refused retry: it gets <see cref="RetryBudgetRefusal"/>, no endpoint and no quota.</summary>
    private bool AdmitAttempt(int classIndex, int attempt)
    {
        if (attempt == 0)
        {
            _retryBudgets.FirstAttempt(classIndex);
            return true;
        }

        if (_retryBudgets.TryRetry(classIndex))
        {
            _metrics.RetryAdmitted(classIndex);
            return true;
        }

        _metrics.RetryRefused(classIndex);
        return false;
    }

    /// <summary>The number of nodes the class's retry-budget floor is split by (learned from the class grain).</summary>
    internal int RetryBudgetNodes(int classIndex) => _retryBudgets.NodesOf(classIndex);

    private Wire.RouteDecision RetryBudgetRefusal() => new()
    {
        DecisionId = DecisionId(Interlocked.Increment(ref _decisionCounter)),
        RouteReason = RouteReason.RetryBudgetExhausted.ToWireName(),
    };
}
