namespace ControlPlane.Domain.Quotas;

/// <summary>The persisted state of a <see cref="TokenBucket"/> (see <see cref="TokenBucket.Export"/>): small, immutable and
/// round-trippable through System.Text.Json.</summary>
/// <param name="Capacity">The capacity the bucket had when exported.</param>
/// <param name="Period">The refill period the bucket had when exported.</param>
/// <param name="Level">Units in the bucket at <paramref name="At"/>; negative while in debt.</param>
/// <param name="Held">Units carved out by open holds.</param>
/// <param name="NetCharged">Net units charged since the bucket was created (carried so accounting stays exact).</param>
/// <param name="Remainder">The refill division remainder (sub-unit refill progress), in capacity-ticks.</param>
/// <param name="At">The instant <paramref name="Level"/> refers to: refill resumes from here.</param>
public sealed record TokenBucketSnapshot(long Capacity, TimeSpan Period, long Level, long Held, long NetCharged, long Remainder, DateTimeOffset At)
{
    /// <summary>Throws <see cref="ArgumentException"/> when the figures cannot come from a bucket (corrupt or hand-edited state).</summary>
    public void Validate()
    {
        if (Capacity <= 0 || Period <= TimeSpan.Zero)
        {
            throw new ArgumentException("bucket snapshot: capacity and period must be positive", nameof(Capacity));
        }

        // Level + Held never exceeds Capacity in a live bucket (holds are not refilled, refunds are capped).
        if (Held < 0 || Level > Capacity - Held)
        {
            throw new ArgumentException("bucket snapshot: held must be non-negative and level + held at most capacity", nameof(Held));
        }

        if (Remainder < 0 || Remainder >= Period.Ticks)
        {
            throw new ArgumentException("bucket snapshot: remainder must be within one period", nameof(Remainder));
        }
    }
}
