using System.Net;
using ControlPlane.Drills.Stack;
using ControlPlane.Service;

namespace ControlPlane.Server.Drills;

/// <summary>The control plane of a drill: one in-process node (grain state in memory, free loopback ports, a fresh
/// bootstrap key holding every role), built and stopped by <see cref="NodeHost"/> as Program does, with the drill's
/// breaker timing (<see cref="DrillTuning"/>).</summary>
internal sealed class EmbeddedDrillControlPlane : IDrillControlPlane
{
    private readonly WebApplication _app;

    private EmbeddedDrillControlPlane(WebApplication app, string apiKey)
    {
        _app = app;
        ApiKey = apiKey;
        GrpcUri = new Uri(NodeHost.GrpcAddress(app) + "/");
        AdminUri = new Uri(NodeHost.AdminAddress(app) + "/");
    }

    public Uri GrpcUri { get; }

    public Uri AdminUri { get; }

    public string ApiKey { get; }

    public string Description => "embedded node (memory storage)";

    /// <summary>Starts the node for <paramref name="launch"/>; one node (<c>--cluster 1</c>; <see cref="ClusterDrillControlPlane"/> runs <c>--cluster 3</c>).</summary>
    public static async Task<IDrillControlPlane> StartAsync(ControlPlaneLaunch launch, CancellationToken cancellationToken)
    {
        if (launch.Nodes != 1)
        {
            throw new ArgumentOutOfRangeException(nameof(launch), launch.Nodes, "--cluster: an embedded control plane is one node (ClusterDrillControlPlane runs --cluster 3).");
        }

        var (_, key, _) = Service.Security.ApiKeyTokens.Generate();
        var options = new NodeOptions
        {
            Storage = ControlPlaneStorage.Memory,
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            AdminEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            AdminKey = key,
            NodeName = "drill-node",
            Dashboard = false,
            DataDirectory = Path.Combine(launch.WorkDirectory, "node"),
            FleetPath = launch.FleetPath,
        };
        var app = NodeHost.Build(options, launch.Fleet, builder =>
        {
            builder.Logging.ClearProviders();
        }, controlPlane => Apply(controlPlane, launch.Tuning));
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new EmbeddedDrillControlPlane(app, key);
    }

    /// <summary>Applies the drill's breaker timing to the node's options.</summary>
    internal static void Apply(ControlPlaneOptions options, DrillTuning tuning)
    {
        var breaker = options.Health.Breaker;
        breaker.Cooldown = tuning.Cooldown;
        breaker.CooldownMultiplier = tuning.CooldownMultiplier;
        breaker.MaxCooldown = tuning.MaxCooldown;
        breaker.RampObservation = tuning.RampObservation;
        breaker.RampDuration = tuning.RampDuration;
        breaker.MinQualitySamples = tuning.MinQualitySamples;
        options.EvaluationPeriod = tuning.EvaluationPeriod;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await NodeHost.StopAsync(_app, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
