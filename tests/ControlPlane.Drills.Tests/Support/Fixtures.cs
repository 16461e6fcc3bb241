using ControlPlane.Drills.Targets;
using ControlPlane.Drills.Traffic;
using ControlPlane.Fleet;

namespace ControlPlane.Drills.Tests.Support;

internal static class Fixtures
{
    public static string FleetPath => Path.Combine(AppContext.BaseDirectory, "fleet.sample.yaml");

    public static string Scenario(string name) => Path.Combine(AppContext.BaseDirectory, "drills", name + ".yaml");

    public static FleetDefinition Fleet { get; } = FleetLoader.LoadFile(FleetPath);

    public static RequestSample Ok(string cls, double at, string endpoint, string reason = "primary", double latency = 100, int attempts = 1,
        long input = 100, long output = 50) =>
        new(cls, at, latency, null, 200, true, true, new ServedBy(endpoint, reason, attempts), input, output, false);

    public static RequestSample Failed(string cls, double at, int status = 502) =>
        new(cls, at, 50, null, status, false, null, default, 0, 0, false) { Error = $"HTTP {status}" };
}
