using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;
using ControlPlane.Domain.Routing;
using ControlPlane.Service.Grains;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.DataPlane;

// Synthetic outcomes (Outcome.synthetic, docs/evals.md): a prober's graded calls made directly to an endpoint. They
// carry no decision and no class, reserve and reconcile nothing, and are flushed to the endpoint grain only (its health
// window, returned model version and recovery gate); the service admits them only from a caller with the prober role.
internal sealed partial class RoutingNode
{
    private void ReportSynthetic(Wire.Outcome outcome, RoutingSnapshot snapshot, int endpointIndex)
    {
        if (outcome.WorkloadClass.Length > 0)
        {
            throw Invalid("workload_class", "must be empty on a synthetic outcome (it belongs to no workload class)");
        }

        if (outcome.DecisionId.Length > 0)
        {
            throw Invalid("decision_id", "must be empty on a synthetic outcome (the prober called the endpoint directly)");
        }

        if (outcome.WorkflowVerdict != Wire.WorkflowVerdict.Unspecified)
        {
            throw Invalid("workflow_verdict", "must be unspecified on a synthetic outcome");
        }

        var sample = ReadOutcome(outcome, snapshot.EndpointAt(endpointIndex), out var changedModel);

        // The request id, when given, is the duplicate key: a re-sent synthetic outcome counts once at the grain.
        var key = outcome.RequestId.Length > 0 ? DecisionIds.RequestKey("synthetic:" + outcome.RequestId) : 0;
        _outcomes.Enqueue(new OutcomeRecord(outcome.EndpointId, "", sample, Fallback: false, key, 0, outcome.Attempt)
        {
            ReturnedModelVersion = changedModel,
            Synthetic = true,
        });
        if (Interlocked.Increment(ref _queuedOutcomes) > _options.MaxQueuedOutcomes)
        {
            var dropped = 0;
            while (Volatile.Read(ref _queuedOutcomes) > _options.MaxQueuedOutcomes && _outcomes.TryDequeue(out _))
            {
                Interlocked.Decrement(ref _queuedOutcomes);
                dropped++;
            }

            _metrics.OutcomesDropped(dropped);
        }
    }
}
