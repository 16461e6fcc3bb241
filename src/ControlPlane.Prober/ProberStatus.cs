using System.Text.Json;
using ControlPlane.Contracts.V1;

namespace ControlPlane.Prober;

/// <summary>The prober's cumulative counters per endpoint (served as JSON by <c>GET /prober/v1/status</c>). Thread-safe.</summary>
internal sealed class ProberStatus(TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<string, EndpointCounters> _endpoints = new(StringComparer.Ordinal);
    private long _budgetSkips;
    private long _reportedOutcomes;
    private long _reportFailures;

    public void Probed(string endpoint, OutcomeStatus status, QualityVerdict verdict, long input, long output, decimal usd, string model)
    {
        lock (_lock)
        {
            var c = For(endpoint);
            c.Probes++;
            c.Passes += verdict == QualityVerdict.Pass ? 1 : 0;
            c.Fails += verdict == QualityVerdict.Fail ? 1 : 0;
            c.Errors += status == OutcomeStatus.Success ? 0 : 1;
            c.InputTokens += input;
            c.OutputTokens += output;
            c.Usd += usd;
            c.LastModel = model.Length > 0 ? model : c.LastModel;
            c.LastProbeAt = time.GetUtcNow();
        }
    }

    public void Run(string endpoint, string breakerState)
    {
        lock (_lock)
        {
            var c = For(endpoint);
            c.Runs++;
            c.BreakerState = breakerState;
        }
    }

    public void SkippedForBudget(string endpoint)
    {
        lock (_lock)
        {
            For(endpoint).BudgetSkips++;
            _budgetSkips++;
        }
    }

    public void Reported(int accepted, int failed)
    {
        lock (_lock)
        {
            _reportedOutcomes += accepted;
            _reportFailures += failed;
        }
    }

    public (long Probes, long InputTokens, long OutputTokens, decimal Usd, long BudgetSkips) Totals()
    {
        lock (_lock)
        {
            return (_endpoints.Values.Sum(c => c.Probes), _endpoints.Values.Sum(c => c.InputTokens), _endpoints.Values.Sum(c => c.OutputTokens),
                _endpoints.Values.Sum(c => c.Usd), _budgetSkips);
        }
    }

    public void Write(Utf8JsonWriter w, ProbeBudget budget, int goldenPrompts)
    {
        lock (_lock)
        {
            w.WriteStartObject();
            w.WriteNumber("golden_prompts", goldenPrompts);
            w.WriteStartObject("budget");
            w.WriteNumber("tokens_per_hour", budget.TokensPerHour);
            w.WriteNumber("spent_this_hour", budget.SpentThisHour);
            w.WriteNumber("skipped_probes", _budgetSkips);
            w.WriteEndObject();
            w.WriteStartObject("totals");
            w.WriteNumber("probes", _endpoints.Values.Sum(c => c.Probes));
            w.WriteNumber("input_tokens", _endpoints.Values.Sum(c => c.InputTokens));
            w.WriteNumber("output_tokens", _endpoints.Values.Sum(c => c.OutputTokens));
            w.WriteNumber("usd", _endpoints.Values.Sum(c => c.Usd));
            w.WriteNumber("reported_outcomes", _reportedOutcomes);
            w.WriteNumber("report_failures", _reportFailures);
            w.WriteEndObject();
            w.WriteStartObject("endpoints");
            foreach (var (id, c) in _endpoints)
            {
                w.WriteStartObject(id);
                w.WriteNumber("runs", c.Runs);
                w.WriteNumber("probes", c.Probes);
                w.WriteNumber("passes", c.Passes);
                w.WriteNumber("fails", c.Fails);
                w.WriteNumber("errors", c.Errors);
                w.WriteNumber("budget_skips", c.BudgetSkips);
                w.WriteNumber("input_tokens", c.InputTokens);
                w.WriteNumber("output_tokens", c.OutputTokens);
                w.WriteNumber("usd", c.Usd);
                w.WriteString("breaker_state", c.BreakerState);
                w.WriteString("last_model", c.LastModel);
                if (c.LastProbeAt is { } at)
                {
                    w.WriteString("last_probe_at", at);
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }
    }

    private EndpointCounters For(string endpoint)
    {
        if (!_endpoints.TryGetValue(endpoint, out var c))
        {
            c = new EndpointCounters();
            _endpoints.Add(endpoint, c);
        }

        return c;
    }

    private sealed class EndpointCounters
    {
        public long Runs { get; set; }

        public long Probes { get; set; }

        public long Passes { get; set; }

        public long Fails { get; set; }

        public long Errors { get; set; }

        public long BudgetSkips { get; set; }

        public long InputTokens { get; set; }

        public long OutputTokens { get; set; }

        public decimal Usd { get; set; }

        public string BreakerState { get; set; } = "unknown";

        public string LastModel { get; set; } = "";

        public DateTimeOffset? LastProbeAt { get; set; }
    }
}
