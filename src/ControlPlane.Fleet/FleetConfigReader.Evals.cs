using System.Globalization;
using ControlPlane.Domain.Breakers;
using ControlPlane.Fleet.Yaml;

namespace ControlPlane.Fleet;

// `evals:` (fleet-wide defaults of the synthetic evals) and an endpoint's `recovery_gate:` over them:
//   evals:
//     recovery_gate: { golden_set: true, min_probes: 5, pass_rate: 0.8, release_without_probes_seconds: 900 }
// No `evals.recovery_gate` and no endpoint `recovery_gate`: no gate (the breaker behaves as without a prober).
internal sealed partial class FleetConfigReader
{
    private static readonly string[] GateKeys = ["golden_set", "min_probes", "pass_rate", "release_without_probes_seconds"];

    // The fleet-wide gate (null: off unless an endpoint turns its own on).
    private RecoveryGateSettings? _gateDefault;

    private void ReadEvals(MappingReader top)
    {
        if (top.Optional("evals") is not { } node || MappingReader.Create(node, top.Child("evals"), _errors, "recovery_gate") is not { } evals)
        {
            return;
        }

        if (evals.Optional("recovery_gate") is { } gate)
        {
            _gateDefault = ReadGate(gate, evals.Child("recovery_gate"), RecoveryGateSettings.Default);
        }
    }

    // An endpoint's `recovery_gate:` (members not given come from `evals.recovery_gate`, else the defaults).
    private RecoveryGateSettings? ReadEndpointGate(MappingReader reader) =>
        reader.Optional("recovery_gate") is { } node ? ReadGate(node, reader.Child("recovery_gate"), _gateDefault ?? RecoveryGateSettings.Default) : _gateDefault;

    private RecoveryGateSettings? ReadGate(ConfigNode node, string path, RecoveryGateSettings over)
    {
        if (MappingReader.Create(node, path, _errors, GateKeys) is not { } gate)
        {
            return null;
        }

        var on = gate.Optional("golden_set") is not { } onNode || YamlBooleans.Read(onNode, gate.Child("golden_set"), _errors);
        var settings = over;
        if (gate.Optional("min_probes") is { } probesNode && ScalarValues.TryInt32(probesNode, gate.Child("min_probes"), _errors, out int probes))
        {
            if (probes is < 1 or > RecoveryGateOptions.MaxMinProbes)
            {
                _errors.Add(probesNode, gate.Child("min_probes"), $"must be between 1 and {RecoveryGateOptions.MaxMinProbes}, got {probes}");
            }
            else
            {
                settings = settings with { MinProbes = probes };
            }
        }

        if (gate.Optional("pass_rate") is { } rateNode && ScalarValues.TryDouble(rateNode, gate.Child("pass_rate"), _errors, out double rate))
        {
            if (!(rate > 0 && rate <= 1))
            {
                _errors.Add(rateNode, gate.Child("pass_rate"), $"must be greater than 0 and at most 1, got {rate.ToString(CultureInfo.InvariantCulture)}");
            }
            else
            {
                settings = settings with { PassRate = rate };
            }
        }

        if (gate.Optional("release_without_probes_seconds") is { } releaseNode
            && ScalarValues.TryInteger(releaseNode, gate.Child("release_without_probes_seconds"), _errors, out long seconds))
        {
            var max = (long)RecoveryGateSettings.MaxRelease.TotalSeconds;
            if (seconds < 0 || seconds > max)
            {
                _errors.Add(releaseNode, gate.Child("release_without_probes_seconds"), $"must be between 0 and {max} seconds, got {seconds}");
            }
            else
            {
                settings = settings with { ReleaseWithoutProbesAfter = TimeSpan.FromSeconds(seconds) };
            }
        }

        return on ? settings : null;
    }
}
