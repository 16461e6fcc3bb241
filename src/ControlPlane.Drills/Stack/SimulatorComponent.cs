using ControlPlane.Simulator;

namespace ControlPlane.Drills.Stack;

/// <summary>The provider simulator in process (<see cref="SimulatorHost"/>): every endpoint on its own loopback port,
/// the scenario's latency overrides, its clock held (the drill posts the faults), the upstreams file in the work folder.</summary>
internal sealed class SimulatorComponent : IDrillSimulator
{
    private readonly SimulatorHost _host;

    private SimulatorComponent(SimulatorHost host, string upstreams)
    {
        _host = host;
        UpstreamsPath = upstreams;
    }

    public Uri AdminUri => _host.AdminUri.AbsoluteUri.EndsWith('/') ? _host.AdminUri : new Uri(_host.AdminUri.AbsoluteUri + "/");

    public string UpstreamsPath { get; }

    public static async Task<IDrillSimulator> StartAsync(string fleetPath, string scenarioPath, int seed, string workDirectory, CancellationToken cancellationToken)
    {
        var host = await SimulatorHost.StartAsync(new SimulatorOptions
        {
            FleetPath = fleetPath,
            ScenarioPath = scenarioPath,
            Seed = seed,
            Hold = true,
        }, cancellationToken).ConfigureAwait(false);
        try
        {
            return new SimulatorComponent(host, host.WriteUpstreams(Path.Combine(workDirectory, "upstreams.json")));
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
