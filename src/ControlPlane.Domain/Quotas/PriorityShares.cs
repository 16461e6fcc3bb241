using ControlPlane.Domain.Routing;

namespace ControlPlane.Domain.Quotas;

/// <summary>
/// <see cref="FairShareQuota"/>'s rule applied to one lease slice of an endpoint: the workload classes routed to the
/// endpoint (as primary or approved fallback) share every slice by weight, per priority level. A level may always spend
/// its own weighted part of the slice; beyond it, it may borrow only while what stays in the slice still covers the
/// parts of every strictly higher priority level. FairShareQuota keeps the higher classes' unused share buckets; a slice
/// is short-lived (renewed as soon as a lower level is blocked), so the higher parts are kept whole and come back with
/// every fresh slice the way a share bucket refills. So under contention interactive traffic keeps its weighted share of
/// every node's slice before batch, and interactive may borrow what batch leaves idle.
/// Immutable; null (no reserve) when every class on the endpoint has the same priority.
/// </summary>
public sealed class PriorityShares
{
    private const int Levels = 3;
    private readonly double[] _fractions;

    private PriorityShares(double[] fractions) => _fractions = fractions;

    /// <summary>The weighted fraction of a slice that belongs to priority level <paramref name="priority"/>.</summary>
    public double FractionOf(WorkloadPriority priority) => _fractions[(int)priority];

    /// <summary>The shares of the classes in <paramref name="classes"/>, or null when they all have one priority (nothing
    /// to reserve) or there are none.</summary>
    public static PriorityShares? For(IEnumerable<ClassShare> classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        var weights = new long[Levels];
        long total = 0;
        foreach (var share in classes)
        {
            if (share.Weight <= 0 || (int)share.Priority >= Levels)
            {
                throw new ArgumentException($"class '{share.ClassName}': weight must be positive and priority known", nameof(classes));
            }

            weights[(int)share.Priority] += share.Weight;
            total += share.Weight;
        }

        if (total == 0 || weights.Count(w => w > 0) < 2)
        {
            return null;
        }

        return new PriorityShares([.. weights.Select(w => (double)w / total)]);
    }

    /// <summary>The shares of every limited endpoint of <paramref name="snapshot"/>, indexed like its endpoints.</summary>
    public static PriorityShares?[] ForSnapshot(RoutingSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var perEndpoint = new List<ClassShare>?[snapshot.EndpointCount];
        for (int c = 0; c < snapshot.ClassCount; c++)
        {
            var policy = snapshot.ClassAt(c);
            var ids = policy.Primary.Concat(policy.Fallbacks.Select(f => f.EndpointId)).Distinct(StringComparer.Ordinal);
            foreach (var id in ids)
            {
                if (snapshot.TryGetEndpointIndex(id, out int e))
                {
                    (perEndpoint[e] ??= []).Add(policy.ToShare());
                }
            }
        }

        return [.. perEndpoint.Select(list => list is null ? null : For(list))];
    }

    // What level `level` may spend on its own: its part of the slice, rounded down.
    internal long Guaranteed(int level, long slice) => (long)Math.Floor(slice * _fractions[level]);

    // What is kept for level `level` while it has not spent it: its part of the slice, rounded up.
    internal long Reserved(int level, long slice) => (long)Math.Ceiling(slice * _fractions[level]);
}
