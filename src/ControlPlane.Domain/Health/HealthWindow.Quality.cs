namespace ControlPlane.Domain.Health;

// The newest quality verdicts, for the breaker's newest-verdicts rule (BreakerOptions.QualityConfidenceZ).
public sealed partial class HealthWindow
{
    /// <summary>Among the spans made of the newest buckets at <paramref name="now"/> (back to the first bucket that started
    /// at or after <paramref name="notBefore"/>) holding at least <paramref name="minVerdicts"/> verdicts, the one whose pass
    /// rate has the lowest upper bound at <paramref name="z"/> (<see cref="QualityEvidence.UpperBound"/>): the newest verdicts
    /// that show a low pass rate most surely. A drift that began a minute ago shows in the newest buckets long before it
    /// outweighs the whole window. <c>default</c> when no span holds <paramref name="minVerdicts"/>. No allocation.</summary>
    public QualityEvidence WeakestQuality(DateTimeOffset now, DateTimeOffset? notBefore, long minVerdicts, double z)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minVerdicts, 1);
        var (first, last) = Range(now, null, notBefore);
        long passes = 0, verdicts = 0;
        var weakest = default(QualityEvidence);
        var weakestBound = double.PositiveInfinity;
        for (var b = last; b >= first; b--)
        {
            var slot = (int)(b % _slots);
            if (b < 0 || _slotBucket[slot] != b)
            {
                continue;
            }

            var c = slot * CounterStride;
            passes += _counters[c + QualityPassIx];
            verdicts += _counters[c + QualityPassIx] + _counters[c + QualityFailIx];
            if (verdicts < minVerdicts)
            {
                continue;
            }

            var evidence = new QualityEvidence(passes, verdicts);
            var bound = evidence.UpperBound(z);
            if (bound < weakestBound)
            {
                weakestBound = bound;
                weakest = evidence;
            }
        }

        return weakest;
    }
}
