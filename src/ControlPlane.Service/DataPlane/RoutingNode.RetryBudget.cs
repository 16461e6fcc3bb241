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

    // A decision id like any other (no endpoint), so the refusal is traceable.
    private Wire.RouteDecision RetryBudgetRefusal(Wire.RouteRequest request, RoutingSnapshot snapshot, int classIndex)
    {
        var primary = snapshot.FirstPrimaryOf(classIndex);
        var reply = new Wire.RouteDecision
        {
            DecisionId = Ids.Issue(_nodeTag, Interlocked.Increment(ref _decisionCounter), DecisionIds.RequestKey(request.RequestId),
                request.Attempt, _time.GetUtcNow(), "", request.WorkloadClass, RouteReason.RetryBudgetExhausted, primary),
            RouteReason = RouteReason.RetryBudgetExhausted.ToWireName(),
        };
        SetPrimary(reply, snapshot, primary);
        return reply;
    }
}
