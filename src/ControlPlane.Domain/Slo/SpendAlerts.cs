using ControlPlane.Domain.Health;
using ControlPlane.Domain.Quotas;

namespace ControlPlane.Domain.Slo;

/// <summary>
/// The spend alerts of a workload class. <b>Ceiling</b>: <c>spend-day-80</c> / <c>spend-month-80</c> (tickets) when 80 %
/// of the daily / monthly ceiling is committed, <c>spend-day-100</c> / <c>spend-month-100</c> (pages, instead of the
/// 80 % ones) when all of it is, or when the window's money ran out for a lease (less was left than a node asked for:
/// the remainder is smaller than a slice and the class is being refused). Committed is settled spend plus money held
/// in live leases, i.e. what can no longer be leased. <b>Runaway cost</b>: <c>cost-runaway</c> (a page) when the cost per successful request over the recent
/// window is above <see cref="RunawayCostOptions.Factor"/> × the class's baseline cost per successful request
/// (see <see cref="RunawayCost"/>).
/// </summary>
public static class SpendAlerts
{
    /// <summary>Share of a ceiling that opens a ticket.</summary>
    public const double WarnFraction = 0.8;

    /// <summary>Share of a ceiling that pages.</summary>
    public const double ExhaustedFraction = 1.0;

    /// <summary>The ceiling alerts firing for <paramref name="figures"/> at <paramref name="now"/> (none without a ceiling).</summary>
    public static IReadOnlyList<HealthAlert> Ceiling(in SpendFigures figures, DateTimeOffset now)
    {
        var alerts = new List<HealthAlert>(2);
        Add(alerts, "spend-day", figures.DayCeiling, figures.DayFraction, figures.DayExhausted, TimeSpan.FromDays(1), now);
        Add(alerts, "spend-month", figures.MonthCeiling, figures.MonthFraction, figures.MonthExhausted, figures.Month.AddMonths(1) - figures.Month, now);
        return alerts;
    }

    private static void Add(List<HealthAlert> alerts, string name, long ceiling, double fraction, bool exhausted, TimeSpan window, DateTimeOffset now)
    {
        if (ceiling <= 0 || (fraction < WarnFraction && !exhausted))
        {
            return;
        }

        alerts.Add(fraction >= ExhaustedFraction || exhausted
            ? new HealthAlert(name + "-100", AlertSeverity.Page, fraction, ExhaustedFraction, window, now)
            : new HealthAlert(name + "-80", AlertSeverity.Ticket, fraction, WarnFraction, window, now));
    }
}

/// <summary>How the runaway-cost signal is computed.</summary>
public sealed class RunawayCostOptions
{
    private const string Name = nameof(RunawayCostOptions);

    /// <summary>The recent window whose cost per successful request is compared with the baseline.</summary>
    /// <value>Between 1 min and 1 h, whole minutes. Defaults to 15 min.</value>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Multiple of the baseline that fires the alert.</summary>
    /// <value>Between 1 and 1,000. Defaults to 3.</value>
    public double Factor { get; set; } = 3.0;

    /// <summary>Time constant of the baseline's exponential decay (older minutes weigh e times less per horizon).</summary>
    /// <value>Between 10 min and 30 days. Defaults to 24 h.</value>
    public TimeSpan BaselineHorizon { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Attempts the recent window needs before it is compared.</summary>
    /// <value>At least 1. Defaults to 20.</value>
    public int MinWindowAttempts { get; set; } = 20;

    /// <summary>Successful requests the baseline needs (decayed count) before anything is compared with it.</summary>
    /// <value>At least 1. Defaults to 50.</value>
    public int MinBaselineSuccesses { get; set; } = 50;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public RunawayCostOptions Validate()
    {
        if (Window < TimeSpan.FromMinutes(1) || Window > TimeSpan.FromHours(1) || Window.Ticks % TimeSpan.TicksPerMinute != 0)
        {
            OptionRules.Fail($"{Name}.{nameof(Window)}", Window, "must be whole minutes between 1 min and 1 h");
        }

        OptionRules.InRange(Factor, 1, 1000, $"{Name}.{nameof(Factor)}");
        if (BaselineHorizon < TimeSpan.FromMinutes(10) || BaselineHorizon > TimeSpan.FromDays(30))
        {
            OptionRules.Fail($"{Name}.{nameof(BaselineHorizon)}", BaselineHorizon, "must be between 10 min and 30 days");
        }

        OptionRules.AtLeast(MinWindowAttempts, 1, $"{Name}.{nameof(MinWindowAttempts)}");
        OptionRules.AtLeast(MinBaselineSuccesses, 1, $"{Name}.{nameof(MinBaselineSuccesses)}");
        return this;
    }
}

/// <summary>
/// A class's runaway-cost signal. Outcomes (cost of every attempt, success or not) go into one-minute buckets; the
/// recent window is the last <see cref="RunawayCostOptions.Window"/> of them. A minute that leaves the window is folded
/// into the baseline: decayed sums of cost and of successful requests (weights fall by e every
/// <see cref="RunawayCostOptions.BaselineHorizon"/>), whose ratio is the baseline cost per successful request. So the
/// recent window is never part of its own baseline, and a sustained rise moves the baseline only slowly (after 24 h
/// at 3× the default baseline has moved about two thirds of the way). Its state is small and persisted with the
/// class (<see cref="Export"/>). Not thread-safe: use it from grain turns.
/// </summary>
public sealed class RunawayCost
{
    private readonly RunawayCostOptions _options;
    private readonly int _slots;
    private readonly long[] _minute;
    private readonly double[] _cost;
    private readonly long[] _attempts;
    private readonly long[] _successes;
    private double _baselineCost;
    private double _baselineSuccesses;
    private DateTimeOffset? _baselineAt;

    /// <summary>Creates a signal with an empty baseline.</summary>
    public RunawayCost(RunawayCostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Validate();
        _slots = (int)(options.Window.Ticks / TimeSpan.TicksPerMinute) + 1;
        _minute = new long[_slots];
        Array.Fill(_minute, long.MinValue);
        _cost = new double[_slots];
        _attempts = new long[_slots];
        _successes = new long[_slots];
    }

    /// <summary>The baseline cost per successful request in USD; null until it has enough successes.</summary>
    public double? Baseline => _baselineSuccesses >= _options.MinBaselineSuccesses ? _baselineCost / _baselineSuccesses : null;

    /// <summary>Adds one attempt's outcome: its cost in USD (negative or non-finite counts as zero) and whether it succeeded.</summary>
    public void Record(DateTimeOffset at, double costUsd, bool success)
    {
        long minute = at.UtcTicks / TimeSpan.TicksPerMinute;
        int slot = (int)(minute % _slots);
        if (_minute[slot] != minute)
        {
            if (_minute[slot] > minute)
            {
                return; // older than the ring: too late to count
            }

            Fold(slot);
            _minute[slot] = minute;
        }

        _cost[slot] += double.IsFinite(costUsd) && costUsd > 0 ? costUsd : 0;
        _attempts[slot]++;
        if (success)
        {
            _successes[slot]++;
        }
    }

    /// <summary>The <c>cost-runaway</c> alert if it fires at <paramref name="now"/> (folds minutes that left the window first).</summary>
    public HealthAlert? Evaluate(DateTimeOffset now)
    {
        long current = now.UtcTicks / TimeSpan.TicksPerMinute;
        long first = current - _slots + 2; // the window's oldest minute: the last Window minutes, this one included
        double cost = 0;
        long attempts = 0;
        long successes = 0;
        for (int slot = 0; slot < _slots; slot++)
        {
            if (_minute[slot] == long.MinValue)
            {
                continue;
            }

            if (_minute[slot] < first)
            {
                Fold(slot);
                continue;
            }

            cost += _cost[slot];
            attempts += _attempts[slot];
            successes += _successes[slot];
        }

        if (Baseline is not { } baseline || baseline <= 0 || attempts < _options.MinWindowAttempts)
        {
            return null;
        }

        double perSuccess = cost / Math.Max(1, successes);
        double ratio = perSuccess / baseline;
        return ratio > _options.Factor
            ? new HealthAlert("cost-runaway", AlertSeverity.Page, ratio, _options.Factor, _options.Window, now)
            : null;
    }

    /// <summary>The baseline to persist.</summary>
    public RunawayCostSnapshot Export() => new(_baselineCost, _baselineSuccesses, _baselineAt);

    /// <summary>Restores a persisted baseline (bad figures are ignored: the baseline starts empty).</summary>
    public void Restore(RunawayCostSnapshot? snapshot)
    {
        if (snapshot is null || !double.IsFinite(snapshot.Cost) || !double.IsFinite(snapshot.Successes) || snapshot.Cost < 0 || snapshot.Successes < 0)
        {
            return;
        }

        (_baselineCost, _baselineSuccesses, _baselineAt) = (snapshot.Cost, snapshot.Successes, snapshot.At);
    }

    // Moves a minute's figures into the baseline and empties its slot.
    private void Fold(int slot)
    {
        if (_minute[slot] == long.MinValue)
        {
            return;
        }

        var at = new DateTimeOffset((_minute[slot] + 1) * TimeSpan.TicksPerMinute, TimeSpan.Zero);
        if (_baselineAt is { } last && at > last)
        {
            double decay = Math.Exp(-(at - last).Ticks / (double)_options.BaselineHorizon.Ticks);
            _baselineCost *= decay;
            _baselineSuccesses *= decay;
        }

        _baselineCost += _cost[slot];
        _baselineSuccesses += _successes[slot];
        _baselineAt = _baselineAt is { } l && l > at ? l : at;
        _minute[slot] = long.MinValue;
        _cost[slot] = 0;
        _attempts[slot] = 0;
        _successes[slot] = 0;
    }
}

/// <summary>The persisted baseline of a <see cref="RunawayCost"/>.</summary>
/// <param name="Cost">Decayed sum of cost (USD).</param>
/// <param name="Successes">Decayed count of successful requests.</param>
/// <param name="At">When the sums were last decayed.</param>
public sealed record RunawayCostSnapshot(double Cost, double Successes, DateTimeOffset? At);
