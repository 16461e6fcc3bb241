using System.Globalization;
using ControlPlane.Domain.Policy;
using ControlPlane.Drills.Traffic;
using ControlPlane.Fleet;

namespace ControlPlane.Drills.Measurement;

/// <summary>Judges the issue's targets from the measured figures.</summary>
internal static class DrillTargets
{
    /// <summary>The availability <c>customer_chat</c> must keep through a single-provider failure.</summary>
    public const double CustomerChatAvailability = 0.995;

    /// <summary>A token bucket of capacity C per minute admits up to 2C in one 60-second window (a full burst, then a
    /// full refill; <c>docs/domain-routing.md</c>); lease slack itself is zero. Budgets are judged against this.</summary>
    public const double BucketWindowFactor = 2.0;

    public static List<TargetLine> Evaluate(FleetDefinition fleet, IReadOnlyList<IncidentReport> incidents, IReadOnlyList<ClassReport> classes,
        IReadOnlyCollection<RequestSample> samples)
    {
        var lines = new List<TargetLine>();
        var moving = incidents.Where(i => i.MoveExpected).ToList();
        if (incidents.Count == 0)
        {
            lines.Add(new TargetLine("route_around", null, "the scenario has no faults"));
        }

        foreach (var i in moving)
        {
            lines.Add(new TargetLine("route_around", i.MovedSeconds is { } m && m <= i.MoveLimitSeconds,
                $"{i.Kind} on {i.Endpoint} at {F(i.StartSeconds)} s: traffic moved " + (i.MovedSeconds is { } s ? $"after {F(s)} s" : i.PreShare is null ? "— no pre-fault traffic to compare" : "— never")
                + $" (limit {F(i.MoveLimitSeconds)} s: {i.MoveLimitBasis})"));
        }

        foreach (var i in incidents.Where(i => !i.MoveExpected))
        {
            lines.Add(new TargetLine("route_around", null, $"{i.Kind} on {i.Endpoint}: does not move traffic by design (detected " + (i.DetectSeconds is { } d ? $"after {F(d)} s by {i.DetectedBy ?? "breaker"}" : "— not by the breaker nor an endpoint alert") + ")"));
        }

        if (classes.FirstOrDefault(c => c.Class == "customer_chat") is { } chat)
        {
            lines.Add(new TargetLine("customer_chat_availability", chat.Availability >= CustomerChatAvailability,
                $"{P(chat.Availability)} of {chat.Requests} requests (target ≥ {P(CustomerChatAvailability)})"));
        }
        else
        {
            lines.Add(new TargetLine("customer_chat_availability", null, "no customer_chat traffic"));
        }

        if (fleet.TryGetClass("legal_draft", out var legal))
        {
            var primary = legal.Policy.Primary.ToHashSet(StringComparer.Ordinal);
            var legalServed = samples.Where(s => s.Class == "legal_draft" && s.Ok).ToList();
            var off = legalServed.Count(s => s.Served.Endpoint is { } e && !primary.Contains(e));
            lines.Add(new TargetLine("legal_draft_primary_only", legalServed.Count == 0 ? null : off == 0,
                $"{off} of {legalServed.Count} answered legal_draft requests served off its primary ({string.Join(", ", primary)})"));
        }

        lines.Add(Budgets(fleet, samples));

        var recoveries = moving.Where(i => i.RecoverLimitSeconds is not null && i.MovedSeconds is not null).ToList();
        if (recoveries.Count == 0)
        {
            lines.Add(new TargetLine("recovery", null, "no fault that moved traffic ended before the drill did"));
        }

        foreach (var i in recoveries)
        {
            lines.Add(new TargetLine("recovery", i.RecoverSeconds is { } r && r <= i.RecoverLimitSeconds,
                $"{i.Endpoint} back above 80 % of its pre-fault share " + (i.RecoverSeconds is { } s ? $"{F(s)} s after the fault ended" : "— never")
                + $" (limit {F(i.RecoverLimitSeconds!.Value)} s: cooldown after {i.TripsAtEnd} trip(s) + ramp observation + ramp + 2 evaluations)"));
        }

        return lines;
    }

    private static TargetLine Budgets(FleetDefinition fleet, IReadOnlyCollection<RequestSample> samples)
    {
        var problems = new List<string>();
        var judged = 0;
        foreach (var definition in fleet.Classes)
        {
            var policy = definition.Policy;
            var mine = samples.Where(s => s.Class == policy.Name && s.Ok).ToList();
            if (policy.Budget is { } budget)
            {
                judged++;
                var (tokens, requests) = MaxWindow(mine, budget.Period.TotalSeconds);
                if (budget.TokensPerPeriod > 0 && tokens > BucketWindowFactor * budget.TokensPerPeriod)
                {
                    problems.Add($"{policy.Name}: {tokens} tokens in one window > 2 × {budget.TokensPerPeriod}");
                }

                if (budget.RequestsPerPeriod > 0 && requests > BucketWindowFactor * budget.RequestsPerPeriod)
                {
                    problems.Add($"{policy.Name}: {requests} requests in one window > 2 × {budget.RequestsPerPeriod}");
                }
            }

            if (policy.Spend is { UsdPerDay: > 0 } spend)
            {
                judged++;
                var cost = mine.Sum(s => Cost(fleet, s));
                if (cost > spend.UsdPerDay)
                {
                    problems.Add($"{policy.Name}: ${cost:0.####} > ${spend.UsdPerDay} per day");
                }
            }
        }

        return new TargetLine("budgets", judged == 0 ? null : problems.Count == 0,
            problems.Count == 0 ? $"{judged} budget/spend limits held (tokens and requests per 60 s window ≤ 2 × the per-minute budget: bucket burst + refill, lease slack 0)"
            : string.Join("; ", problems));
    }

    /// <summary>The largest token and request totals of <paramref name="samples"/> in any window of
    /// <paramref name="seconds"/> (by send time).</summary>
    internal static (long Tokens, long Requests) MaxWindow(IReadOnlyList<RequestSample> samples, double seconds)
    {
        var ordered = samples.OrderBy(s => s.StartSeconds).ToArray();
        long tokens = 0, maxTokens = 0;
        int from = 0, maxRequests = 0;
        for (var to = 0; to < ordered.Length; to++)
        {
            tokens += ordered[to].InputTokens + ordered[to].OutputTokens;
            while (ordered[to].StartSeconds - ordered[from].StartSeconds >= seconds)
            {
                tokens -= ordered[from].InputTokens + ordered[from].OutputTokens;
                from++;
            }

            maxTokens = Math.Max(maxTokens, tokens);
            maxRequests = Math.Max(maxRequests, to - from + 1);
        }

        return (maxTokens, maxRequests);
    }

    internal static decimal Cost(FleetDefinition fleet, RequestSample s) =>
        s.Served.Endpoint is { } e && fleet.Catalog.TryGetValue(e, out var d)
            ? (s.InputTokens * d.PricePer1kInput + s.OutputTokens * d.PricePer1kOutput) / 1000m : 0m;

    private static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    private static string P(double v) => (v * 100).ToString("0.00", CultureInfo.InvariantCulture) + " %";

    /// <summary>Whether <paramref name="policy"/> lists <paramref name="endpoint"/> (primary or fallback).</summary>
    public static bool Routes(WorkloadClassPolicy policy, string endpoint) =>
        policy.Primary.Contains(endpoint, StringComparer.Ordinal) || policy.Fallbacks.Any(f => f.EndpointId == endpoint);
}
