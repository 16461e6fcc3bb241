using ControlPlane.Simulator.Scenario;

namespace ControlPlane.Simulator.Faults;

/// <summary>A fault placed on the clock: its spec with absolute start and end.</summary>
/// <param name="Id">Unique per simulator run (<c>f1</c>, <c>f2</c>, ...).</param>
/// <param name="Spec">What the fault does.</param>
/// <param name="StartsAt">When it starts.</param>
/// <param name="EndsAt">When it ends; null: never.</param>
/// <param name="FromScenario">True for a fault of the scenario file (re-armed when the clock restarts).</param>
internal sealed record ArmedFault(string Id, FaultSpec Spec, DateTimeOffset StartsAt, DateTimeOffset? EndsAt, bool FromScenario)
{
    /// <summary>True when the fault applies at <paramref name="now"/>.</summary>
    public bool IsActive(DateTimeOffset now) => now >= StartsAt && (EndsAt is not { } end || now < end);

    /// <summary>pending, active or ended at <paramref name="now"/>.</summary>
    public string State(DateTimeOffset now) => now < StartsAt ? "pending" : IsActive(now) ? "active" : "ended";
}

/// <summary>
/// The faults of a run: the scenario's (placed when the scenario clock starts) and those posted to the admin API
/// (placed relative to when they were posted). Readers get an immutable snapshot; writers swap it under a lock.
/// </summary>
internal sealed class FaultBook(TimeProvider time)
{
    /// <summary>The most faults armed at once (scenario plus posted); posting more is refused.</summary>
    public const int MaxFaults = 10_000;

    private readonly Lock _gate = new();
    private ArmedFault[] _faults = [];
    private long _nextId;

    /// <summary>When the scenario clock started; null while held.</summary>
    public DateTimeOffset? ClockStartedAt { get; private set; }

    /// <summary>Every armed fault (pending, active and ended).</summary>
    public IReadOnlyList<ArmedFault> All => Volatile.Read(ref _faults);

    /// <summary>(Re)starts the scenario clock now: the scenario's faults are placed from now; posted faults stay.</summary>
    public DateTimeOffset StartClock(IEnumerable<FaultSpec> scenarioFaults)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            ClockStartedAt = now;
            var kept = _faults.Where(f => !f.FromScenario);
            var placed = scenarioFaults.Select(spec => Place(spec, now, fromScenario: true));
            Volatile.Write(ref _faults, [.. placed, .. kept]);
            return now;
        }
    }

    /// <summary>Arms a posted fault relative to now; null when the book is full.</summary>
    public ArmedFault? Add(FaultSpec spec)
    {
        lock (_gate)
        {
            if (_faults.Length >= MaxFaults)
            {
                return null;
            }

            var fault = Place(spec, time.GetUtcNow(), fromScenario: false);
            Volatile.Write(ref _faults, [.. _faults, fault]);
            return fault;
        }
    }

    /// <summary>Removes every fault, the scenario's too (until the clock restarts).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            Volatile.Write(ref _faults, []);
        }
    }

    /// <summary>The faults active on <paramref name="endpoint"/> at <paramref name="now"/>, in arming order.</summary>
    public List<ArmedFault> ActiveOn(string endpoint, DateTimeOffset now)
    {
        var active = new List<ArmedFault>();
        foreach (var fault in All)
        {
            if (fault.IsActive(now) && string.Equals(fault.Spec.Endpoint, endpoint, StringComparison.Ordinal))
            {
                active.Add(fault);
            }
        }

        return active;
    }

    private ArmedFault Place(FaultSpec spec, DateTimeOffset origin, bool fromScenario)
    {
        long id = ++_nextId;
        return new ArmedFault("f" + id.ToString(System.Globalization.CultureInfo.InvariantCulture), spec, origin + spec.Start, origin + spec.End, fromScenario);
    }
}
