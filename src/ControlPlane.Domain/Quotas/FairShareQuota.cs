namespace ControlPlane.Domain.Quotas;

/// <summary>
/// One endpoint's capacity (its provider limit) shared by workload classes: each class is guaranteed
/// <c>weight / sum of weights</c> of the capacity (its own share bucket), and may borrow idle capacity
/// beyond that only if what stays in the endpoint's bucket still covers the unused guaranteed shares of
/// every class of strictly higher priority. So under contention interactive traffic is served before
/// batch: batch can never eat into interactive's guarantee, interactive may borrow batch's idle share.
/// A class that borrowed carries the excess as debt in its share bucket and pays it back by refill.
/// </summary>
public sealed class FairShareQuota
{
    private readonly RateQuota _total;
    private readonly RateQuota[] _shares;
    private readonly WorkloadPriority[] _priorities;
    private readonly Dictionary<string, int> _index;

    /// <summary>Creates the endpoint bucket and one share bucket per class (all full).</summary>
    public FairShareQuota(QuotaLimits endpointLimits, IReadOnlyList<ClassShare> classes, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(endpointLimits);
        ArgumentNullException.ThrowIfNull(classes);
        if (classes.Count == 0)
        {
            throw new ArgumentException("classes: at least one class must share the endpoint", nameof(classes));
        }

        _total = new RateQuota(endpointLimits, time);
        _shares = new RateQuota[classes.Count];
        _priorities = new WorkloadPriority[classes.Count];
        _index = new Dictionary<string, int>(classes.Count, StringComparer.Ordinal);
        long weightSum = 0;
        for (int i = 0; i < classes.Count; i++)
        {
            if (classes[i].Weight <= 0)
            {
                throw new ArgumentException($"classes[{i}].weight: must be positive", nameof(classes));
            }

            if (!_index.TryAdd(classes[i].ClassName, i))
            {
                throw new ArgumentException($"classes[{i}].className: '{classes[i].ClassName}' is listed twice", nameof(classes));
            }

            weightSum += classes[i].Weight;
        }

        for (int i = 0; i < classes.Count; i++)
        {
            // Shares round down so their sum never exceeds the endpoint's capacity; at least 1 when limited.
            var limits = endpointLimits with
            {
                TokensPerPeriod = Share(endpointLimits.TokensPerPeriod, classes[i].Weight, weightSum),
                RequestsPerPeriod = Share(endpointLimits.RequestsPerPeriod, classes[i].Weight, weightSum),
            };
            _shares[i] = new RateQuota(limits, time);
            _priorities[i] = classes[i].Priority;
        }
    }

    /// <summary>The endpoint's own bucket pair.</summary>
    public RateQuota Endpoint => _total;

    /// <summary>Index of a class for the other calls, or -1 when it has no share here.</summary>
    public int IndexOf(string className) => _index.TryGetValue(className, out int i) ? i : -1;

    /// <summary>The share bucket pair of class <paramref name="classIndex"/>.</summary>
    public RateQuota ShareOf(int classIndex) => _shares[classIndex];

    /// <summary>Reserves for class <paramref name="classIndex"/>: from its guaranteed share, or borrowed
    /// beyond it when higher-priority classes' unused shares stay covered.</summary>
    public bool TryReserve(int classIndex, in TokenReservation reservation)
    {
        long now = _total.Now();
        if (!_total.CanReserveAt(reservation, now))
        {
            return false;
        }

        var share = _shares[classIndex];
        if (!share.CanReserveAt(reservation, now) && !CanBorrow(classIndex, reservation, now))
        {
            return false;
        }

        _total.ForceReserveAt(reservation, now);
        share.ForceReserveAt(reservation, now);
        return true;
    }

    /// <summary>Settles a reservation of class <paramref name="classIndex"/> to the actual tokens.</summary>
    public void Reconcile(int classIndex, in TokenReservation reservation, long actualTokens)
    {
        long now = _total.Now();
        _total.ReconcileAt(reservation, actualTokens, now);
        _shares[classIndex].ReconcileAt(reservation, actualTokens, now);
    }

    /// <summary>Gives back a reservation that was never used.</summary>
    public void Release(int classIndex, in TokenReservation reservation)
    {
        long now = _total.Now();
        _total.ReleaseAt(reservation, now);
        _shares[classIndex].ReleaseAt(reservation, now);
    }

    private bool CanBorrow(int classIndex, in TokenReservation reservation, long now)
    {
        long heldTokens = 0;
        long heldRequests = 0;
        var mine = _priorities[classIndex];
        for (int i = 0; i < _shares.Length; i++)
        {
            if (_priorities[i] < mine)
            {
                heldTokens = SaturatingAdd(heldTokens, _shares[i].AvailableTokensAt(now));
                heldRequests = SaturatingAdd(heldRequests, _shares[i].AvailableRequestsAt(now));
            }
        }

        return SaturatingSubtract(_total.AvailableTokensAt(now), reservation.Tokens) >= heldTokens
            && SaturatingSubtract(_total.AvailableRequestsAt(now), reservation.Requests) >= heldRequests;
    }

    private static long Share(long capacity, int weight, long weightSum) =>
        capacity == 0 ? 0 : Math.Max(1, (long)((Int128)capacity * weight / weightSum));

    private static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    private static long SaturatingSubtract(long a, long b) => a == long.MaxValue ? long.MaxValue : a - b;
}
