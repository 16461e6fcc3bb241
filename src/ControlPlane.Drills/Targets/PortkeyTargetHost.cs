using ControlPlane.Drills.Stack;
using ControlPlane.Fleet;

namespace ControlPlane.Drills.Targets;

/// <summary>Starts the Portkey comparison target (<c>controlplane drill SCENARIO --target portkey --replicas N</c>):
/// N gateway replicas on 127.0.0.1 in front of the drill's simulator, each class configured with the chain the
/// control plane would route it over (<see cref="PortkeyConfigBuilder"/>).</summary>
internal sealed class PortkeyTargetFactory : IDrillTargetFactory
{
    private readonly PortkeyTargetOptions _options;

    /// <summary>Creates the factory; <paramref name="options"/> (retries, timeout, install folder) apply to every run.</summary>
    public PortkeyTargetFactory(PortkeyTargetOptions? options = null)
    {
        _options = options ?? new PortkeyTargetOptions();
        _options.Validate();
    }

    /// <inheritdoc/>
    public string Name => "portkey";

    /// <inheritdoc/>
    public async Task<IDrillTargetHost> StartAsync(DrillTargetContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var upstreams = PortkeyUpstreams.ReadFile(context.Simulator.UpstreamsPath);
        return await PortkeyTargetHost.StartAsync(context.Fleet, upstreams, context.Replicas, _options, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Running Portkey replicas; disposing stops them.</summary>
internal sealed class PortkeyTargetHost : IDrillTargetHost
{
    private readonly PortkeyGateway[] _gateways;

    private PortkeyTargetHost(PortkeyGateway[] gateways, IReadOnlyDictionary<string, PortkeyClassConfig> configs)
    {
        _gateways = gateways;
        Configs = configs;
        Replicas = [.. gateways.Select(g => new PortkeyDrillTarget(g.BaseUri, configs))];
    }

    /// <inheritdoc/>
    public IReadOnlyList<IDrillTarget> Replicas { get; }

    /// <summary>The configuration each class's requests carry.</summary>
    public IReadOnlyDictionary<string, PortkeyClassConfig> Configs { get; }

    /// <summary>The gateway processes (for tests: their ids and addresses).</summary>
    public IReadOnlyList<PortkeyGateway> Gateways => _gateways;

    /// <summary>Builds every class's configuration first (a bad fleet or upstreams file fails before anything
    /// starts), then starts <paramref name="replicas"/> gateways in parallel.</summary>
    public static async Task<PortkeyTargetHost> StartAsync(
        FleetDefinition fleet,
        IReadOnlyDictionary<string, PortkeyUpstream> upstreams,
        int replicas,
        PortkeyTargetOptions options,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        ArgumentNullException.ThrowIfNull(upstreams);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (replicas is < 1 or > PortkeyTargetOptions.MaxReplicas)
        {
            throw new ArgumentOutOfRangeException(nameof(replicas), replicas, $"--replicas: must be between 1 and {PortkeyTargetOptions.MaxReplicas}");
        }

        var configs = new Dictionary<string, PortkeyClassConfig>(StringComparer.Ordinal);
        foreach (var workloadClass in fleet.Classes)
        {
            configs[workloadClass.Name] = PortkeyConfigBuilder.Build(fleet, upstreams, workloadClass.Name, options);
        }

        var starting = Enumerable.Range(0, replicas).Select(_ => PortkeyGateway.StartAsync(options, cancellationToken)).ToArray();
        try
        {
            await Task.WhenAll(starting).ConfigureAwait(false);
        }
        catch
        {
            foreach (var task in starting.Where(t => t.IsCompletedSuccessfully))
            {
                await task.Result.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        return new PortkeyTargetHost([.. starting.Select(t => t.Result)], configs);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var gateway in _gateways)
        {
            await gateway.DisposeAsync().ConfigureAwait(false);
        }
    }
}
