using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using ControlPlane.Drills.Scenarios;
using ControlPlane.Drills.Traffic;

namespace ControlPlane.Drills.Observation;

/// <summary>Talks to the simulator's admin API: schedules the scenario's faults (<c>POST /sim/v1/faults</c>, start
/// relative to now) and polls the per-endpoint counters (<c>GET /sim/v1/stats</c>) once a second, which is how the
/// drill sees the attempts each endpoint received (a refused connection included).</summary>
internal sealed class SimulatorWatcher : IDisposable
{
    private readonly HttpClient _http;
    private readonly DrillClock _clock;
    private readonly ConcurrentQueue<SimulatorCount> _counts = new();

    public SimulatorWatcher(Uri adminUri, DrillClock clock)
    {
        _http = new HttpClient { BaseAddress = adminUri, Timeout = TimeSpan.FromSeconds(5) };
        _clock = clock;
    }

    public IReadOnlyCollection<SimulatorCount> Counts => _counts;

    /// <summary>Clears the simulator's faults, then posts each fault with its start and end relative to now.</summary>
    public async Task ScheduleAsync(IEnumerable<DrillFault> faults, TimeSpan duration, CancellationToken cancellationToken)
    {
        using (var cleared = await _http.DeleteAsync("sim/v1/faults", cancellationToken).ConfigureAwait(false))
        {
            cleared.EnsureSuccessStatusCode();
        }

        foreach (var fault in faults)
        {
            var body = new Dictionary<string, object>
            {
                ["endpoint"] = fault.Endpoint,
                ["kind"] = fault.KindName,
                ["start"] = DrillScenarioReader.FormatDuration(fault.Start),
                ["end"] = DrillScenarioReader.FormatDuration(fault.EndWithin(duration)),
                ["share"] = fault.Share,
            };
            Add(body, "mode", fault.Mode);
            Add(body, "retry_after", fault.RetryAfter is { } r ? DrillScenarioReader.FormatDuration(r) : null);
            Add(body, "tpm", fault.Tpm);
            Add(body, "factor", fault.Factor);
            Add(body, "model_version", fault.ModelVersion);
            Add(body, "output_factor", fault.OutputFactor);
            using var content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
            using var response = await _http.PostAsync("sim/v1/faults", content, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                throw new InvalidOperationException($"The simulator refused fault {fault.KindName} on {fault.Endpoint}: HTTP {(int)response.StatusCode} {text[..Math.Min(text.Length, 300)]}");
            }
        }
    }

    private static void Add(Dictionary<string, object> body, string name, object? value)
    {
        if (value is not null)
        {
            body[name] = value;
        }
    }

    /// <summary>Polls until <paramref name="cancellationToken"/> fires.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => PollLoop.RunAsync(_clock.Time, PollOnceAsync, cancellationToken);

    /// <summary>One poll of <c>GET /sim/v1/stats</c>.</summary>
    public async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            var at = _clock.Now;
            using var response = await _http.GetAsync("sim/v1/stats", cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return;
            }

            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var doc = await JsonDocument.ParseAsync(stream, default, cancellationToken).ConfigureAwait(false);
            foreach (var count in ParseStats(doc.RootElement, at))
            {
                _counts.Enqueue(count);
            }
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or OperationCanceledException)
        {
            // The next poll catches up: the counters are cumulative.
        }
    }

    /// <summary>Reads the stats body: an object keyed by endpoint id (optionally under <c>endpoints</c>), or an array
    /// of objects naming their <c>id</c>/<c>endpoint</c>; each with <c>requests</c> and <c>by_status</c>.</summary>
    internal static IEnumerable<SimulatorCount> ParseStats(JsonElement root, double at)
    {
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("endpoints", out var inner))
        {
            root = inner;
        }

        if (root.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in root.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.Object && Count(property.Name, property.Value, at) is { } c)
                {
                    yield return c;
                }
            }
        }
        else if (root.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in root.EnumerateArray())
            {
                var id = item.ValueKind != JsonValueKind.Object ? null
                    : item.TryGetProperty("id", out var i) ? i.GetString()
                    : item.TryGetProperty("endpoint", out var e) ? e.GetString() : null;
                if (id is not null && Count(id, item, at) is { } c)
                {
                    yield return c;
                }
            }
        }
    }

    private static SimulatorCount? Count(string id, JsonElement e, double at)
    {
        if (!e.TryGetProperty("requests", out var r) || r.ValueKind != JsonValueKind.Number || !r.TryGetInt64(out var requests))
        {
            return null;
        }

        long ok = 0;
        if (e.TryGetProperty("by_status", out var byStatus) && byStatus.ValueKind == JsonValueKind.Object
            && byStatus.TryGetProperty("200", out var okCount) && okCount.TryGetInt64(out var n))
        {
            ok = n;
        }
        else
        {
            ok = requests;
        }

        return new SimulatorCount(at, id, requests, Math.Max(0, requests - ok));
    }

    public void Dispose() => _http.Dispose();
}
