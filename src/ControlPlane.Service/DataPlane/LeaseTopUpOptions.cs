namespace ControlPlane.Service.DataPlane;

/// <summary>Lease top-ups: a Route call refused <c>no_capacity</c> because this node's lease slices of the class's
/// candidates (or the class budget's) ran dry asks the owning grains for fresh slices at once and waits for them, within
/// a bounded time, instead of being refused until the next renewal (<c>docs/quota-ledger-persistence.md</c>, "Top-ups").
/// Only the path that would otherwise refuse waits; an admitted call never does.</summary>
public sealed class LeaseTopUpOptions
{
    /// <summary>Longest a refused call waits for its top-up (never past the caller's deadline less its reply margin:
    /// the larger of a quarter of the remaining deadline and <see cref="RouteQueueOptions.ReplyMargin"/>). Zero turns
    /// top-ups off: a refused call is answered <c>no_capacity</c> at once.
    /// <value>Must be between 0 and 10 s. Defaults to 1 s.</value></summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most refused calls one node keeps waiting for top-ups at once; a call beyond it is refused at once.
    /// <value>Must be between 1 and 100,000. Defaults to 1,000.</value></summary>
    public int MaxWaiting { get; set; } = 1_000;

    /// <summary>How long a slot whose top-up brought nothing that pays (the owner's bucket is spent, not merely this node's
    /// slice) is not topped up again while it holds that same slice: refused calls meanwhile are answered at once, so a
    /// spent quota costs no grant (and no storage write) per refused call. A new slice from any renewal ends it early.
    /// <value>Must be between 0 and 10 s. Defaults to 500 ms.</value></summary>
    public TimeSpan EmptyBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first bad option.</summary>
    public LeaseTopUpOptions Validate()
    {
        if (MaxWait < TimeSpan.Zero || MaxWait > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(MaxWait), MaxWait, "ControlPlaneOptions.TopUp.MaxWait must be between 0 and 10 s.");
        }

        if (MaxWaiting is < 1 or > 100_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxWaiting), MaxWaiting, "ControlPlaneOptions.TopUp.MaxWaiting must be between 1 and 100,000.");
        }

        if (EmptyBackoff < TimeSpan.Zero || EmptyBackoff > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(EmptyBackoff), EmptyBackoff, "ControlPlaneOptions.TopUp.EmptyBackoff must be between 0 and 10 s.");
        }

        return this;
    }
}
