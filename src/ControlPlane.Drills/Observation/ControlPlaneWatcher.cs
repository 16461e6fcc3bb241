using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json;
using ControlPlane.Drills.Traffic;

namespace ControlPlane.Drills.Observation;

/// <summary>Polls the control plane's admin API once a second: every endpoint's breaker
/// (<c>GET /admin/v1/endpoints/{id}</c>) and the alerts (<c>GET /admin/v1/alerts?state=all</c>); at the end, each
/// class's budget view. A failed poll is skipped (the next one catches up).</summary>
internal sealed class ControlPlaneWatcher : IDisposable
{
    private readonly HttpClient _http;
    private readonly DrillClock _clock;
    private readonly IReadOnlyList<string> _endpoints;
    private readonly ConcurrentQueue<BreakerSample> _breakers = new();
    private readonly ConcurrentDictionary<string, AlertSample> _alerts = new(StringComparer.Ordinal);
    private int _failedPolls;

    public ControlPlaneWatcher(Uri adminUri, string adminKey, DrillClock clock, IReadOnlyList<string> endpoints)
    {
        _http = new HttpClient { BaseAddress = adminUri, Timeout = TimeSpan.FromSeconds(5) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        _clock = clock;
        _endpoints = endpoints;
    }

    public IReadOnlyCollection<BreakerSample> Breakers => _breakers;

    public IReadOnlyCollection<AlertSample> Alerts => _alerts.Values.ToArray();

    public int FailedPolls => Volatile.Read(ref _failedPolls);

    /// <summary>Polls until <paramref name="cancellationToken"/> fires.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => PollLoop.RunAsync(_clock.Time, PollOnceAsync, cancellationToken);

    internal async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        var polls = _endpoints.Select(id => PollEndpointAsync(id, cancellationToken)).Append(PollAlertsAsync(cancellationToken));
        await Task.WhenAll(polls).ConfigureAwait(false);
    }

    private async Task PollEndpointAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            var at = _clock.Now;
            using var doc = await GetAsync($"admin/v1/endpoints/{Uri.EscapeDataString(id)}", cancellationToken).ConfigureAwait(false);
            if (doc?.RootElement.TryGetProperty("breaker", out var breaker) != true)
            {
                return;
            }

            var limited = breaker.TryGetProperty("rateLimitedUntil", out var until) && until.ValueKind == JsonValueKind.String;
            _breakers.Enqueue(new BreakerSample(at, id,
                breaker.TryGetProperty("state", out var s) ? s.GetString() ?? "unknown" : "unknown",
                breaker.TryGetProperty("degraded", out var d) && d.ValueKind == JsonValueKind.True,
                limited,
                breaker.TryGetProperty("trafficFraction", out var f) && f.ValueKind == JsonValueKind.Number ? f.GetDouble() : 1,
                breaker.TryGetProperty("trips", out var t) && t.ValueKind == JsonValueKind.Number ? t.GetInt32() : 0));
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or OperationCanceledException or InvalidOperationException)
        {
            Interlocked.Increment(ref _failedPolls);
        }
    }

    private async Task PollAlertsAsync(CancellationToken cancellationToken)
    {
        try
        {
            var seen = _clock.Now;
            using var doc = await GetAsync("admin/v1/alerts?state=all", cancellationToken).ConfigureAwait(false);
            if (doc?.RootElement.TryGetProperty("alerts", out var alerts) != true || alerts.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            foreach (var alert in alerts.EnumerateArray())
            {
                var state = Text(alert, "state");
                if (state is not ("firing" or "resolved"))
                {
                    continue;
                }

                // A resolved alert fired before; its start (startedAt) is when it went pending, changedAt when it
                // resolved: a firing one's changedAt is its firing time.
                var key = Text(alert, "key") ?? "";
                var at = state == "firing" && alert.TryGetProperty("changedAt", out var changed) && changed.TryGetDateTimeOffset(out var c)
                    ? Math.Min(_clock.Of(c), seen) : seen;
                var classes = alert.TryGetProperty("workloadClasses", out var wc) && wc.ValueKind == JsonValueKind.Array
                    ? wc.EnumerateArray().Select(x => x.GetString() ?? "").ToArray() : [];
                _alerts.TryAdd($"{key}@{Text(alert, "startedAt")}", new AlertSample(at, Text(alert, "rule") ?? "", Text(alert, "targetKind") ?? "",
                    Text(alert, "targetId") ?? "", classes));
            }
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or OperationCanceledException or InvalidOperationException)
        {
            Interlocked.Increment(ref _failedPolls);
        }
    }

    /// <summary>Each class's budget and spend as the control plane holds them.</summary>
    public async Task<IReadOnlyList<ClassBudgetSample>> ReadBudgetsAsync(IEnumerable<string> classes, CancellationToken cancellationToken)
    {
        var result = new List<ClassBudgetSample>();
        foreach (var name in classes)
        {
            try
            {
                using var doc = await GetAsync($"admin/v1/classes/{Uri.EscapeDataString(name)}", cancellationToken).ConfigureAwait(false);
                if (doc is null)
                {
                    continue;
                }

                var root = doc.RootElement;
                long tpm = 0, rpm = 0;
                if (root.TryGetProperty("budget", out var budget) && budget.ValueKind == JsonValueKind.Object)
                {
                    tpm = Long(budget, "tokensPerMinute");
                    rpm = Long(budget, "requestsPerMinute");
                }

                decimal? perDay = null, spent = null;
                if (root.TryGetProperty("spend", out var spend) && spend.ValueKind == JsonValueKind.Object)
                {
                    perDay = spend.TryGetProperty("usdPerDay", out var p) && p.ValueKind == JsonValueKind.Number ? p.GetDecimal() : null;
                    spent = spend.TryGetProperty("daySpentUsd", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetDecimal() : null;
                }

                result.Add(new ClassBudgetSample(name, tpm, rpm, perDay, spent, Long(root, "servedByFallback")));
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or OperationCanceledException or InvalidOperationException)
            {
                Interlocked.Increment(ref _failedPolls);
            }
        }

        return result;
    }

    /// <summary>Each endpoint's breaker and health figures as the control plane holds them.</summary>
    public async Task<IReadOnlyList<EndpointHealthSample>> ReadEndpointsAsync(CancellationToken cancellationToken)
    {
        var result = new List<EndpointHealthSample>();
        foreach (var id in _endpoints)
        {
            try
            {
                using var doc = await GetAsync($"admin/v1/endpoints/{Uri.EscapeDataString(id)}", cancellationToken).ConfigureAwait(false);
                if (doc is null)
                {
                    continue;
                }

                var root = doc.RootElement;
                var breaker = root.TryGetProperty("breaker", out var b) ? b : default;
                var health = root.TryGetProperty("health", out var h) ? h : default;
                result.Add(new EndpointHealthSample(id,
                    breaker.ValueKind == JsonValueKind.Object ? Text(breaker, "state") ?? "unknown" : "unknown",
                    breaker.ValueKind == JsonValueKind.Object ? (int)Long(breaker, "trips") : 0,
                    health.ValueKind == JsonValueKind.Object ? Long(health, "requests") : 0,
                    health.ValueKind == JsonValueKind.Object ? Long(health, "failures") : 0,
                    health.ValueKind == JsonValueKind.Object ? Double(health, "latencyP95Ms") : null,
                    Double(root, "perOutputTokenMs")));
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or OperationCanceledException or InvalidOperationException)
            {
                Interlocked.Increment(ref _failedPolls);
            }
        }

        return result;
    }

    private static double? Double(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? Math.Round(v.GetDouble(), 3) : null;

    private async Task<JsonDocument?> GetAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(path, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            Interlocked.Increment(ref _failedPolls);
            return null;
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        return await JsonDocument.ParseAsync(stream, default, cancellationToken).ConfigureAwait(false);
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long Long(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : 0;

    public void Dispose() => _http.Dispose();
}
