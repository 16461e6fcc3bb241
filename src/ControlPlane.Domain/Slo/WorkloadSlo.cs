using ControlPlane.Domain.Endpoints;

namespace ControlPlane.Domain.Slo;

/// <summary>SLO bookkeeping of one workload class: counts of final request outcomes in one-minute buckets (for
/// burn-rate and fallback windows up to <see cref="MinutePrecisionSpan"/>) and one-hour buckets (for the budget period
/// and longer windows), error budgets (availability, quality, latency), multi-window multi-burn-rate alerts and
/// fallback-activation alerts. Recording is O(1) and allocation-free; memory is fixed at construction. Not thread-safe.</summary>
public sealed class WorkloadSlo
{
    private const int TotalIx = 0;
    private const int UnavailableIx = 1;
    private const int PassIx = 2;
    private const int FailIx = 3;
    private const int FallbackIx = 4;
    private const int LatencyEventsIx = 5;
    private const int SlowIx = 6;
    private const int Fields = 7;
    private const byte ExportFormat = 1;

    private readonly SloOptions _options;
    private readonly CountRing _minutes;

    /// <summary>Windows up to this span are summed to the minute; longer ones (the 1 d and 3 d ticket windows) to the
    /// hour, from the hour ring, which keeps the minute ring (memory and every persisted write) six hours long.</summary>
    public static readonly TimeSpan MinutePrecisionSpan = TimeSpan.FromHours(6);
    private readonly CountRing _hours;

    /// <summary>Creates empty bookkeeping for <paramref name="workloadClass"/>; validates <paramref name="options"/>.</summary>
    public WorkloadSlo(string workloadClass, SloOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(workloadClass);
        ArgumentNullException.ThrowIfNull(options);
        WorkloadClass = workloadClass;
        _options = options.Validate();
        var longest = Math.Min(MinutePrecisionSpan.Ticks, Math.Max(
            options.BurnRateRules.Count == 0 ? 0 : options.BurnRateRules.Max(r => r.LongWindow.Ticks),
            Math.Max(options.FallbackPageWindow.Ticks, options.FallbackTicketWindow.Ticks)));
        _minutes = new CountRing(TimeSpan.FromMinutes(1), (int)(longest / TimeSpan.TicksPerMinute) + 1, Fields);
        var hours = Math.Max(options.BudgetPeriod.Ticks,
            options.BurnRateRules.Count == 0 ? 0 : options.BurnRateRules.Max(r => r.LongWindow.Ticks));
        _hours = new CountRing(TimeSpan.FromHours(1), (int)((hours + TimeSpan.TicksPerHour - 1) / TimeSpan.TicksPerHour) + 1, Fields);
    }

    /// <summary>The workload class.</summary>
    public string WorkloadClass { get; }

    /// <summary>Bytes of counter state held (about 65 KB with the defaults).</summary>
    public long StateBytes => _minutes.Bytes + _hours.Bytes;

    /// <summary>Records the final outcome of one request of the class (after any fallback).</summary>
    /// <param name="at">When it finished.</param>
    /// <param name="available">False when the request failed for the caller: an endpoint failure or a 429 that no
    /// fallback absorbed.</param>
    /// <param name="quality">Its quality verdict, if any.</param>
    /// <param name="fallback">True when a fallback endpoint served it.</param>
    /// <param name="latency">How long it took when it was served (an event of the latency SLO, bad when slower than
    /// <see cref="SloOptions.LatencyThreshold"/>); null when not served or the class has no latency SLO.</param>
    public void Record(DateTimeOffset at, bool available, QualityVerdict quality = QualityVerdict.None, bool fallback = false, TimeSpan? latency = null)
    {
        Span<long> deltas = stackalloc long[Fields];
        deltas[TotalIx] = 1;
        deltas[UnavailableIx] = available ? 0 : 1;
        deltas[PassIx] = quality == QualityVerdict.Pass ? 1 : 0;
        deltas[FailIx] = quality == QualityVerdict.Fail ? 1 : 0;
        deltas[FallbackIx] = fallback ? 1 : 0;
        if (latency is { } l && _options.LatencyThreshold is { } threshold)
        {
            deltas[LatencyEventsIx] = 1;
            deltas[SlowIx] = l > threshold ? 1 : 0;
        }

        _minutes.Add(at, deltas);
        _hours.Add(at, deltas);
    }

    /// <summary>The error budget of <paramref name="kind"/> over the budget period ending at <paramref name="now"/>
    /// (to the hour).</summary>
    public ErrorBudget Budget(SloKind kind, DateTimeOffset now)
    {
        Span<long> totals = stackalloc long[Fields];
        _hours.Sum(now, _options.BudgetPeriod, totals);
        var (events, bad) = Split(kind, totals);
        return new ErrorBudget(kind, Target(kind), _options.BudgetPeriod, events, bad);
    }

    /// <summary>Burn rate of <paramref name="kind"/> over <paramref name="window"/> (to the minute): the bad-event
    /// ratio divided by the budgeted ratio (1 - target); 0 with no events.</summary>
    public double BurnRate(SloKind kind, DateTimeOffset now, TimeSpan window) => BurnRate(kind, now, window, out _);

    /// <summary>Share of requests served by a fallback over <paramref name="window"/>; 0 with no requests.</summary>
    public double FallbackRate(DateTimeOffset now, TimeSpan window) => FallbackRate(now, window, out _);

    /// <summary>The counts of both rings (non-empty buckets only, varint-coded; about 3 bytes a busy minute), for the
    /// grain to persist: <see cref="Restore"/> on a new activation carries budgets and burn rates over.</summary>
    public byte[] Export()
    {
        var output = new List<byte>(256) { ExportFormat };
        VarInt.Write(output, Fields);
        _minutes.Export(output);
        _hours.Export(output);
        return [.. output];
    }

    /// <summary>Adds counts written by <see cref="Export"/> (of this or an older version with fewer fields). Returns
    /// false, keeping what could be read, when <paramref name="exported"/> is malformed or of an unknown format.</summary>
    public bool Restore(ReadOnlySpan<byte> exported)
    {
        if (exported.IsEmpty || exported[0] != ExportFormat)
        {
            return false;
        }

        exported = exported[1..];
        return VarInt.TryRead(ref exported, out var fields) && fields is > 0 and <= 64
            && _minutes.Import(ref exported, (int)fields) && _hours.Import(ref exported, (int)fields) && exported.IsEmpty;
    }

    /// <summary>Every alert that fires at <paramref name="now"/>: burn-rate rules for each SLO (availability, quality,
    /// and latency when the class has a latency objective), then fallback activation.</summary>
    public IReadOnlyList<HealthAlert> EvaluateAlerts(DateTimeOffset now)
    {
        var alerts = new List<HealthAlert>();
        ReadOnlySpan<SloKind> kinds = _options.LatencyThreshold is null
            ? [SloKind.Availability, SloKind.Quality]
            : [SloKind.Availability, SloKind.Quality, SloKind.Latency];
        foreach (var kind in kinds)
        {
            foreach (var rule in _options.BurnRateRules)
            {
                var longRate = BurnRate(kind, now, rule.LongWindow, out _);
                var shortRate = BurnRate(kind, now, rule.ShortWindow, out var shortEvents);
                if (shortEvents >= _options.MinEventsPerWindow && longRate > rule.BurnRate && shortRate > rule.BurnRate)
                {
                    alerts.Add(new HealthAlert($"slo-{Name(kind)}-burn-{rule.WindowsName}", rule.Severity, longRate, rule.BurnRate, rule.LongWindow, now)
                    {
                        ShortWindow = rule.ShortWindow,
                        ShortValue = shortRate,
                    });
                }
            }
        }

        AddFallbackAlert(alerts, now, _options.FallbackPageWindow, AlertSeverity.Page);
        AddFallbackAlert(alerts, now, _options.FallbackTicketWindow, AlertSeverity.Ticket);
        return alerts;
    }

    private void AddFallbackAlert(List<HealthAlert> alerts, DateTimeOffset now, TimeSpan window, AlertSeverity severity)
    {
        var rate = FallbackRate(now, window, out var total);
        if (total >= _options.MinEventsPerWindow && rate > _options.FallbackThreshold)
        {
            alerts.Add(new HealthAlert($"fallback-activation-{(int)window.TotalMinutes}m", severity, rate, _options.FallbackThreshold, window, now));
        }
    }

    private double BurnRate(SloKind kind, DateTimeOffset now, TimeSpan window, out long events)
    {
        Span<long> totals = stackalloc long[Fields];
        Ring(window).Sum(now, window, totals);
        (events, var bad) = Split(kind, totals);
        return events == 0 ? 0 : (double)bad / events / (1 - Target(kind));
    }

    private double FallbackRate(DateTimeOffset now, TimeSpan window, out long total)
    {
        Span<long> totals = stackalloc long[Fields];
        Ring(window).Sum(now, window, totals);
        total = totals[TotalIx];
        return total == 0 ? 0 : (double)totals[FallbackIx] / total;
    }

    private CountRing Ring(TimeSpan window) => window <= MinutePrecisionSpan ? _minutes : _hours;

    private static (long Events, long Bad) Split(SloKind kind, ReadOnlySpan<long> totals) => kind switch
    {
        SloKind.Availability => (totals[TotalIx], totals[UnavailableIx]),
        SloKind.Latency => (totals[LatencyEventsIx], totals[SlowIx]),
        _ => (totals[PassIx] + totals[FailIx], totals[FailIx]),
    };

    private double Target(SloKind kind) => kind switch
    {
        SloKind.Availability => _options.AvailabilityTarget,
        SloKind.Latency => _options.LatencyTarget,
        _ => _options.QualityTarget,
    };

    private static string Name(SloKind kind) => kind switch
    {
        SloKind.Availability => "availability",
        SloKind.Latency => "latency",
        _ => "quality",
    };
}
