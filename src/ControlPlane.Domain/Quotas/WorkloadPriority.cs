namespace ControlPlane.Domain.Quotas;

/// <summary>Priority of a workload class when classes contend for one endpoint's capacity.
/// Lower values win: interactive traffic is served before batch traffic.</summary>
public enum WorkloadPriority : byte
{
    /// <summary>A user is waiting on the answer.</summary>
    Interactive = 0,
    /// <summary>Ordinary background work with a latency expectation.</summary>
    Standard = 1,
    /// <summary>Throughput work that can wait (evals, backfills, offline batches).</summary>
    Batch = 2,
}

/// <summary>One workload class's claim on an endpoint's capacity.</summary>
/// <param name="ClassName">The workload class.</param>
/// <param name="Weight">Relative weight of its guaranteed share; positive.</param>
/// <param name="Priority">Who borrows idle capacity first under contention.</param>
public sealed record ClassShare(string ClassName, int Weight, WorkloadPriority Priority);
