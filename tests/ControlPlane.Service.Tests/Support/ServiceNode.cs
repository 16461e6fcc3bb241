using ControlPlane.Fleet;
using ControlPlane.Grains;
using ControlPlane.Grains.Storage;
using ControlPlane.Service.Admin;
using ControlPlane.Service.DataPlane;
using ControlPlane.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.Support;

/// <summary>One control plane node without sockets: a single-node silo on fake time and the routing node,
/// built exactly as the server registers them (<c>AddControlPlane</c>).</summary>
internal sealed class ServiceNode : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private bool _stopped;

    private ServiceNode(ServiceProvider services)
    {
        _services = services;
    }

    public RoutingNode Node => _services.GetRequiredService<RoutingNode>();

    public AdminOperations Admin => _services.GetRequiredService<AdminOperations>();

    public IGrainFactory Grains => _services.GetRequiredService<IGrainFactory>();

    public static FleetDefinition SampleFleet() => FleetLoader.LoadFile(Path.Combine(AppContext.BaseDirectory, "fleet.sample.yaml"));

    public static FleetDefinition Fleet(string yaml) => FleetLoader.Load(new StringReader(yaml), "test-fleet.yaml");

    /// <summary>Starts a node on <paramref name="storage"/> (shared between "restarts" of the same test).</summary>
    public static async Task<ServiceNode> StartAsync(FakeTimeProvider time, IGrainStorage storage, FleetDefinition? fleet = null,
        Action<ControlPlaneOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(time);
        services.AddControlPlane(fleet ?? SampleFleet(), ControlPlaneStorage.Memory, null, configure);
        services.Replace(ServiceDescriptor.Singleton(storage));
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<GrainSilo>().StartAsync();
        await provider.GetRequiredService<RoutingNode>().StartAsync(CancellationToken.None);
        return new ServiceNode(provider);
    }

    public Wire.RouteDecision Route(string workloadClass, long input = 1_000, long maxOutput = 500) =>
        Node.Route(new Wire.RouteRequest { WorkloadClass = workloadClass, EstimatedInputTokens = input, MaxOutputTokens = maxOutput }, null);

    public void Fail(string endpointId, string workloadClass, int times)
    {
        for (var i = 0; i < times; i++)
        {
            Node.Report(new Wire.Outcome
            {
                EndpointId = endpointId,
                WorkloadClass = workloadClass,
                Status = Wire.OutcomeStatus.ServerError,
                HttpStatus = 503,
                LatencyMs = 120,
            });
        }
    }

    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await Node.StopAsync(CancellationToken.None);
        await _services.GetRequiredService<GrainSilo>().StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _services.DisposeAsync();
    }
}
