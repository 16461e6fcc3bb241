using System.Security.Cryptography;
using System.Text;

namespace ControlPlane.Simulator.Generation;

/// <summary>
/// The random numbers one request uses, drawn together in a fixed order so that the same seed and the same sequence
/// of requests to an endpoint give the same latencies, output lengths and fault shares, whatever faults are active.
/// </summary>
/// <param name="TtftZ">Standard normal: time to first token.</param>
/// <param name="ThroughputZ">Standard normal: output throughput.</param>
/// <param name="OutputZ">Standard normal: output length.</param>
/// <param name="Shares">One uniform [0, 1) per fault kind, indexed by <see cref="Scenario.FaultKind"/>.</param>
internal readonly record struct RequestDraw(double TtftZ, double ThroughputZ, double OutputZ, double[] Shares)
{
    /// <summary>Uniform values drawn per request for fault shares (one per kind).</summary>
    public const int ShareSlots = 7;

    /// <summary>Draws the next request's numbers from <paramref name="random"/> (the caller serializes access).</summary>
    public static RequestDraw Next(Random random)
    {
        double ttft = Normal(random);
        double throughput = Normal(random);
        double output = Normal(random);
        var shares = new double[ShareSlots];
        for (int i = 0; i < shares.Length; i++)
        {
            shares[i] = random.NextDouble();
        }

        return new RequestDraw(ttft, throughput, output, shares);
    }

    /// <summary>True when a fault of <paramref name="kind"/> with <paramref name="share"/> hits this request.</summary>
    public bool Hits(Scenario.FaultKind kind, double share) => share >= 1 || Shares[(int)kind] < share;

    /// <summary>The endpoint's generator: seeded from the run's seed and the endpoint id, independent of other endpoints.</summary>
    public static Random CreateRandom(int seed, string endpointId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(seed.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/" + endpointId), hash);
        return new Random(BitConverter.ToInt32(hash[..4]) & int.MaxValue);
    }

    private static double Normal(Random random)
    {
        // Box-Muller on two uniforms; 1 - u keeps the logarithm finite.
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
