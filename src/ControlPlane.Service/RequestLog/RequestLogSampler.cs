using ControlPlane.Domain.Endpoints;

namespace ControlPlane.Service.RequestLog;

/// <summary>Which outcomes the request log keeps: every error (non-success status), fallback and quality failure,
/// and of the rest a share decided by the request alone (a hash of its key), so every attempt of one request is kept
/// or dropped together, on every node.</summary>
internal static class RequestLogSampler
{
    /// <summary>True when the record is kept at <paramref name="rate"/>. <paramref name="requestKey"/> is the decision
    /// id's request key (a hash of the request id), else its decision key; 0 samples at random.</summary>
    public static bool Keep(double rate, long requestKey, OutcomeStatus status, bool fallback, QualityVerdict quality)
    {
        if (rate >= 1 || status != OutcomeStatus.Success || fallback || quality == QualityVerdict.Fail)
        {
            return true;
        }

        if (rate <= 0)
        {
            return false;
        }

        var bits = requestKey != 0 ? Mix((ulong)requestKey) : (ulong)Random.Shared.NextInt64();
        return Fraction(bits) < rate;
    }

    /// <summary>The position in [0, 1) of a request key: its mixed 53 high bits.</summary>
    internal static double Fraction(ulong mixed) => (mixed >> 11) * (1.0 / (1UL << 53));

    /// <summary>SplitMix64's finalizer: spreads FNV-1a keys (whose high bits vary little between similar ids) evenly.</summary>
    internal static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
