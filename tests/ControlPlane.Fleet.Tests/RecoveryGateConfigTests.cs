using static ControlPlane.Fleet.Tests.FleetYaml;

namespace ControlPlane.Fleet.Tests;

/// <summary><c>evals.recovery_gate</c> and an endpoint's <c>recovery_gate</c>: off unless configured, endpoint over fleet
/// over defaults, strict ranges with file:line:column.</summary>
public sealed class RecoveryGateConfigTests
{
    [Fact]
    public void Without_evals_no_endpoint_has_a_gate()
    {
        var fleet = Load(Base);
        Assert.All(fleet.Endpoints, e => Assert.Null(e.RecoveryGate));
    }

    [Fact]
    public void The_fleet_default_applies_to_every_endpoint_and_an_endpoint_overrides_or_turns_it_off()
    {
        var fleet = Load(With(
            (1, "fleet: { name: test, version: 3 }\nevals: { recovery_gate: { min_probes: 8 } }"),
            (14, "    recovery_gate: { pass_rate: 0.9, release_without_probes_seconds: 0 }")));

        Assert.True(fleet.TryGetEndpoint("ep-a", out var a));
        Assert.Equal(new RecoveryGateSettings(8, 0.9, TimeSpan.Zero), a.RecoveryGate);
        Assert.True(fleet.TryGetEndpoint("ep-b", out var b));
        Assert.Equal(new RecoveryGateSettings(8, 0.8, TimeSpan.FromMinutes(15)), b.RecoveryGate);

        var off = Load(With(
            (1, "fleet: { name: test, version: 3 }\nevals: { recovery_gate: { golden_set: true } }"),
            (14, "    recovery_gate: { golden_set: false }")));
        Assert.True(off.TryGetEndpoint("ep-a", out var offA));
        Assert.Null(offA.RecoveryGate);
        Assert.True(off.TryGetEndpoint("ep-b", out var onB));
        Assert.Equal(RecoveryGateSettings.Default, onB.RecoveryGate);
        Assert.Equal(5, onB.RecoveryGate!.ToOptions().Validate().MinProbes);
    }

    [Fact]
    public void Gate_fields_are_range_checked_typed_and_closed()
    {
        string line = "    recovery_gate: { min_probes: 0, pass_rate: 1.5, release_without_probes_seconds: -1, golden_set: yes, every: 3 }";
        var errors = Errors(With((14, line)));

        Assert.Equal(
            [
                $"test.yaml:14:{Col(line, "0,")}: endpoints.ep-a.recovery_gate.min_probes: must be between 1 and 1000, got 0",
                $"test.yaml:14:{Col(line, "1.5")}: endpoints.ep-a.recovery_gate.pass_rate: must be greater than 0 and at most 1, got 1.5",
                $"test.yaml:14:{Col(line, "-1")}: endpoints.ep-a.recovery_gate.release_without_probes_seconds: must be between 0 and 86400 seconds, got -1",
                $"test.yaml:14:{Col(line, "yes")}: endpoints.ep-a.recovery_gate.golden_set: expected true or false, got 'yes'",
                $"test.yaml:14:{Col(line, "every")}: endpoints.ep-a.recovery_gate.every: unknown key; expected one of golden_set, min_probes, pass_rate, release_without_probes_seconds",
            ],
            errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Unknown_evals_keys_are_refused()
    {
        var errors = Errors(With((1, "fleet: { name: test, version: 3 }\nevals: { prober: on }")));
        Assert.Contains(errors, e => e.ToString().Contains("evals.prober: unknown key; expected one of recovery_gate", StringComparison.Ordinal));
    }
}
