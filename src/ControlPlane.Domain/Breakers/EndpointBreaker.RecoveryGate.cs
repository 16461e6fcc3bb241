using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Health;

namespace ControlPlane.Domain.Breakers;

// The recovery gate (RecoveryGateOptions): an open breaker whose cooldown elapsed turns half-open only once the
// prober's synthetic outcomes received after the cooldown pass the golden set. Without a gate (the default) the
// cooldown's end is enough, as before.
public sealed partial class EndpointBreaker
{
    private RecoveryGateOptions? _gate;
    private int _gatePasses;
    private int _gateProbes;
    private int _gateConsecutive;
    private DateTimeOffset? _gatePassedAt;

    /// <summary>The recovery gate in force, or null (the cooldown's end alone turns the breaker half-open).</summary>
    public RecoveryGateOptions? RecoveryGate => _gate;

    /// <summary>The gate's progress: synthetic outcomes counted since the cooldown ended, passes among them, the current
    /// run of consecutive passes, and whether the gate has passed. All zero unless the breaker is open under a gate.</summary>
    public RecoveryGateProgress GateProgress => new(_gateProbes, _gatePasses, _gateConsecutive, _gatePassedAt is not null,
        _gate is not null && _state == BreakerState.Open && _clock >= _openUntil && _gatePassedAt is null);

    /// <summary>Puts a recovery gate on the breaker (null removes it); takes effect from the next cooldown end that is
    /// not yet past. Validates <paramref name="gate"/>.</summary>
    public void ConfigureRecoveryGate(RecoveryGateOptions? gate) => _gate = gate?.Validate();

    /// <summary>Feeds one synthetic outcome (a prober's graded golden-set answer, not a routed request). While the breaker
    /// is open and its cooldown has elapsed it counts toward the recovery gate (a pass is a success graded
    /// <see cref="QualityVerdict.Pass"/>; anything else fails); while half-open a success is ignored (real requests
    /// holding probe permits close the breaker) and a failure re-opens it; otherwise it is an outcome like any other
    /// (<see cref="OnOutcome(in OutcomeSample)"/>: consecutive failures, 429 cooling).</summary>
    public void OnSyntheticOutcome(in OutcomeSample sample)
    {
        Advance(sample.At);
        if (_state == BreakerState.HalfOpen && sample.Status == OutcomeStatus.Success)
        {
            // Half-open is closed by the probe permits' real requests, not by the prober's calls (which took no permit);
            // a synthetic failure still re-opens it below.
            return;
        }

        if (_gate is null || _state != BreakerState.Open || sample.At < _openUntil || _gatePassedAt is not null)
        {
            OnOutcome(sample);
            return;
        }

        var pass = sample.Status == OutcomeStatus.Success && sample.Quality == QualityVerdict.Pass;
        _gateProbes = _gateProbes < int.MaxValue ? _gateProbes + 1 : _gateProbes;
        _gatePasses += pass && _gatePasses < int.MaxValue ? 1 : 0;
        _gateConsecutive = pass ? Math.Min(_gateConsecutive + 1, int.MaxValue - 1) : 0;
        if (_gateConsecutive >= _gate.MinProbes || (_gateProbes >= _gate.MinProbes && _gatePasses >= _gate.PassRate * _gateProbes))
        {
            _gatePassedAt = sample.At;
            Advance(sample.At);
        }
    }

    // When an open breaker whose cooldown ended at or before t may turn half-open: at the cooldown's end without a gate,
    // when the gate passed, or (no synthetic outcome at all) after the gate's release time; null while the gate holds.
    private DateTimeOffset? GateDue(DateTimeOffset t)
    {
        if (_gate is null)
        {
            return _openUntil;
        }

        if (_gatePassedAt is { } passed)
        {
            return passed > _openUntil ? passed : _openUntil;
        }

        if (_gateProbes == 0 && _gate.ReleaseWithoutProbesAfter > TimeSpan.Zero && _openUntil + _gate.ReleaseWithoutProbesAfter <= t)
        {
            return _openUntil + _gate.ReleaseWithoutProbesAfter;
        }

        return null;
    }

    private string GateDetail()
    {
        if (_gate is null)
        {
            return "";
        }

        return _gatePassedAt is not null
            ? Invariant($" and the golden set passed ({_gatePasses}/{_gateProbes} synthetic passes, {_gateConsecutive} in a row)")
            : Invariant($" and no synthetic outcome arrived for {_gate.ReleaseWithoutProbesAfter} (recovery gate released without a prober)");
    }

    private string GateNote() => _gate is null ? "" : Invariant($"; then the golden set must pass ({_gate.MinProbes} synthetic passes in a row or {_gate.PassRate:P0} of at least {_gate.MinProbes})");

    private void ResetGate()
    {
        _gatePasses = 0;
        _gateProbes = 0;
        _gateConsecutive = 0;
        _gatePassedAt = null;
    }
}

/// <summary>A recovery gate's progress (<see cref="EndpointBreaker.GateProgress"/>).</summary>
/// <param name="Probes">Synthetic outcomes counted since the cooldown ended.</param>
/// <param name="Passes">Passing ones among them.</param>
/// <param name="Consecutive">The current run of consecutive passes.</param>
/// <param name="Passed">Whether the gate has passed (the breaker turns, or turned, half-open).</param>
/// <param name="Holding">Whether the gate is what keeps the breaker open right now (cooldown over, gate not passed).</param>
public readonly record struct RecoveryGateProgress(int Probes, int Passes, int Consecutive, bool Passed, bool Holding);
