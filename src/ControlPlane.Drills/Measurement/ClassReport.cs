using ControlPlane.Drills.Traffic;

namespace ControlPlane.Drills.Measurement;

/// <summary>One class's figures over the drill.</summary>
/// <param name="Class">The class.</param>
/// <param name="Requests">Requests counted (those cut off by the drill's end excluded).</param>
/// <param name="Available">Requests answered in full, whichever attempt served them.</param>
/// <param name="Availability">Available / requests (1 when no requests).</param>
/// <param name="LatencyP95Ms">p95 latency of the available requests.</param>
/// <param name="TtftP95Ms">p95 time to first token of the available streamed requests.</param>
/// <param name="QualityPassRate">Share of graded answers holding the expected answer.</param>
/// <param name="ByRouteReason">Available requests by the route reason of their serving attempt.</param>
/// <param name="ByEndpoint">Available requests by serving endpoint.</param>
/// <param name="FallbackShare">Share of available requests not served for reason <c>primary</c>.</param>
/// <param name="InputTokens">Usage total.</param>
/// <param name="OutputTokens">Usage total.</param>
/// <param name="CostUsd">Usage × the serving endpoint's price.</param>
/// <param name="Errors">Failures by their first words.</param>
public sealed record ClassReport(string Class, int Requests, int Available, double Availability, double? LatencyP95Ms, double? TtftP95Ms,
    double? QualityPassRate, IReadOnlyDictionary<string, int> ByRouteReason, IReadOnlyDictionary<string, int> ByEndpoint, double FallbackShare,
    long InputTokens, long OutputTokens, decimal CostUsd, IReadOnlyDictionary<string, int> Errors)
{
    /// <summary>The first failure's text for each key of <see cref="Errors"/>.</summary>
    public IReadOnlyDictionary<string, string> ErrorExamples { get; init; } = new Dictionary<string, string>();

    /// <summary>Figures of <paramref name="samples"/> (one class); <paramref name="price"/> gives an endpoint's
    /// input and output price per 1k tokens.</summary>
    public static ClassReport Of(string workloadClass, IEnumerable<RequestSample> samples, Func<string, (decimal Input, decimal Output)?> price)
    {
        var counted = samples.Where(s => !s.Abandoned).ToList();
        var ok = counted.Where(s => s.Ok).ToList();
        var graded = ok.Where(s => s.QualityPass is not null).ToList();
        var reasons = ok.GroupBy(s => s.Served.RouteReason ?? "unknown").ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var endpoints = ok.GroupBy(s => s.Served.Endpoint ?? "unknown").ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var errors = counted.Where(s => !s.Ok).GroupBy(s => ErrorKey(s)).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        decimal cost = 0;
        foreach (var s in ok)
        {
            if (s.Served.Endpoint is { } e && price(e) is { } p)
            {
                cost += (s.InputTokens * p.Input + s.OutputTokens * p.Output) / 1000m;
            }
        }

        var primary = reasons.GetValueOrDefault("primary");
        return new ClassReport(workloadClass, counted.Count, ok.Count, counted.Count == 0 ? 1 : (double)ok.Count / counted.Count,
            Percentiles.Of(ok.Select(s => s.LatencyMs), 0.95), Percentiles.Of(ok.Where(s => s.TtftMs is not null).Select(s => s.TtftMs!.Value), 0.95),
            graded.Count == 0 ? null : (double)graded.Count(s => s.QualityPass == true) / graded.Count,
            reasons, endpoints, ok.Count == 0 ? 0 : 1 - (double)primary / ok.Count,
            ok.Sum(s => s.InputTokens), ok.Sum(s => s.OutputTokens), decimal.Round(cost, 6), errors)
        {
            ErrorExamples = counted.Where(s => !s.Ok).GroupBy(ErrorKey).ToDictionary(g => g.Key, g => g.First().Error ?? "", StringComparer.Ordinal),
        };
    }

    private static string ErrorKey(RequestSample s) => s.Status is > 0 and not 200 ? $"HTTP {s.Status}" : (s.Error ?? "error").Split(':')[0];
}
