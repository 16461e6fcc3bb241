using System.Globalization;
using ControlPlane.Testing.Network;
using ControlPlane.Testing.Processes;
using ControlPlane.Testing.Redis;

namespace ControlPlane.Testing.Regions;

/// <summary>Two regional clusters as real processes on loopback: per region its own <c>redis-server</c>, its own Orleans
/// cluster id and two <c>controlplane</c> nodes (<c>--role both</c>) started with <c>--region</c>; the same fleet file;
/// each region's nodes reach the peer region through a <see cref="CuttableTcpProxy"/> in front of the peer's two nodes
/// (<c>--federation-peer PEER=http://127.0.0.1:PROXY</c>, one proxy per direction), presenting the test bootstrap key
/// (it holds every role, <c>federation</c> included) as their federation credential. Used by the region tests and the
/// propagation benchmark. Disposing kills every process and both Redis servers and writes each node's output to
/// <c>$TMPDIR/cp-regions/&lt;run&gt;/&lt;node&gt;.log</c>.</summary>
public sealed class TwoRegionCluster : IAsyncDisposable
{
    /// <summary>The first region: the class-policy home in <see cref="RegionFleets.Basic"/>.</summary>
    public const string UsEast = "us-east";

    /// <summary>The second region.</summary>
    public const string EuWest = "eu-west";

    /// <summary>The environment variable a node reads its federation credential from.</summary>
    public const string FederationCredentialVariable = "CONTROLPLANE_FEDERATION_CREDENTIAL";

    private readonly Action<string> _log;
    private readonly string _fleetPath;
    private readonly Region[] _regions;

    private TwoRegionCluster(string run, string fleetPath, Region[] regions, Action<string> log)
    {
        Run = run;
        _fleetPath = fleetPath;
        _regions = regions;
        _log = log;
    }

    /// <summary>The run's id (part of every cluster id and of the log folder).</summary>
    public string Run { get; }

    /// <summary>Both regions, <see cref="UsEast"/> first.</summary>
    public IReadOnlyList<Region> Regions => _regions;

    /// <summary>Every node of both regions.</summary>
    public IEnumerable<RegionNode> Nodes => _regions.SelectMany(r => r.Nodes);

    /// <summary>The region by name.</summary>
    public Region this[string name] => _regions.Single(r => r.Name == name);

    /// <summary>The fleet file every node reads.</summary>
    public string FleetPath => _fleetPath;

    /// <summary>Starts both regions (in parallel; in each, the first node founds the cluster and the second joins it).
    /// <paramref name="fleetYaml"/> is written to a temporary file. With <paramref name="federation"/> off, the nodes get
    /// no <c>--region</c> and no peers: two isolated single-region clusters (the proxies still forward to them).</summary>
    public static async Task<TwoRegionCluster> StartAsync(string fleetYaml, Action<string>? log = null, bool federation = true,
        IReadOnlyList<string>? extraArguments = null, TimeSpan? startTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(fleetYaml);
        var run = "regions-" + Guid.NewGuid().ToString("N")[..8];
        var folder = Path.Combine(Path.GetTempPath(), "cp-regions", run);
        Directory.CreateDirectory(folder);
        var fleetPath = Path.Combine(folder, "fleet.yaml");
        await File.WriteAllTextAsync(fleetPath, fleetYaml).ConfigureAwait(false);
        var regions = new[] { new Region(UsEast, run), new Region(EuWest, run) };
        var cluster = new TwoRegionCluster(run, fleetPath, regions, log ?? (_ => { }));
        try
        {
            foreach (var region in regions)
            {
                region.Redis = await RedisServerFixture.StartNewAsync().ConfigureAwait(false);
                region.Nodes = [new RegionNode(region, 1), new RegionNode(region, 2)];
                // The proxy in front of this region's nodes: the peer region's way in.
                region.Inbound = CuttableTcpProxy.Start([.. region.Nodes.Select(n => CuttableTcpProxy.Loopback(n.GrpcPort))]);
            }

            foreach (var region in regions)
            {
                var peer = regions.Single(r => r != region);
                foreach (var node in region.Nodes)
                {
                    node.Process = new ServerProcess(node.Name, node.Arguments(fleetPath, federation ? peer : null, extraArguments ?? []),
                        new Dictionary<string, string> { [FederationCredentialVariable] = TestCredentials.AdminKey });
                }
            }

            var timeout = startTimeout ?? TimeSpan.FromSeconds(90);
            await Task.WhenAll(regions.Select(async region =>
            {
                await region.Nodes[0].Process.StartAsync(timeout).ConfigureAwait(false);
                await region.Nodes[1].Process.StartAsync(timeout).ConfigureAwait(false);
            })).ConfigureAwait(false);
            cluster.Print($"two regions up ({run}): " + string.Join("; ", regions.Select(r =>
                $"{r.Name} redis :{r.Redis.Port} inbound proxy :{r.Inbound.Port} nodes " + string.Join(", ", r.Nodes.Select(n => $"{n.Name} grpc :{n.GrpcPort} admin :{n.AdminPort} pid {n.Process.Pid}")))));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Writes a line to the test's output.</summary>
    public void Print(string line) => _log(line);

    /// <summary>Cuts the federation link both ways.</summary>
    public void CutLink(CutMode mode = CutMode.Refuse, bool resetOpenConnections = true)
    {
        foreach (var region in _regions)
        {
            region.Inbound.Cut(mode, resetOpenConnections);
        }

        Mark($"link cut ({mode}{(resetOpenConnections ? ", open connections reset" : ", open connections frozen")})");
    }

    /// <summary>Restores the federation link both ways.</summary>
    public void RestoreLink()
    {
        foreach (var region in _regions)
        {
            region.Inbound.Restore();
        }

        Mark("link restored");
    }

    /// <summary>Kills the region's <c>redis-server</c> and starts it again empty on the same port; the region's nodes keep
    /// running (their incarnation watchdog notices the lost cluster and rejoins in-process).</summary>
    public async Task RestartRedisEmptyAsync(string region)
    {
        var r = this[region];
        await r.Redis.RestartAsync(keepData: false).ConfigureAwait(false);
        Mark($"{region}'s redis-server restarted empty");
    }

    /// <summary>The last lines of every node's output (for failure messages).</summary>
    public string Logs(int lines = 25) =>
        string.Join('\n', Nodes.Select(n => $"--- {n.Name} (pid {n.Process.Pid}, exited {n.Process.HasExited}) ---\n{n.Process.Tail(lines)}"));

    /// <summary>Kills every node, both proxies and both Redis servers; keeps the nodes' output on disk.</summary>
    public async ValueTask DisposeAsync()
    {
        var nodes = _regions.SelectMany(r => r.Nodes).ToList();
        await Task.WhenAll(nodes.Where(n => n.HasProcess).Select(n => n.Process.DisposeAsync().AsTask())).ConfigureAwait(false);
        var folder = Path.Combine(Path.GetTempPath(), "cp-regions", Run);
        Directory.CreateDirectory(folder);
        foreach (var node in nodes.Where(n => n.HasProcess))
        {
            await File.WriteAllTextAsync(Path.Combine(folder, node.Name + ".log"), node.Process.Tail(int.MaxValue)).ConfigureAwait(false);
        }

        Print($"node logs: {folder}");
        foreach (var region in _regions)
        {
            if (region.HasInbound)
            {
                await region.Inbound.DisposeAsync().ConfigureAwait(false);
            }

            if (region.HasRedis)
            {
                await region.Redis.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private void Mark(string line)
    {
        foreach (var node in Nodes.Where(n => n.HasProcess))
        {
            node.Process.Log(line);
        }

        Print(line);
    }

    /// <summary>One region: its Redis, its two nodes and the proxy in front of them (the peer's way in).</summary>
    public sealed class Region
    {
        private RedisServerFixture? _redis;
        private CuttableTcpProxy? _inbound;

        internal Region(string name, string run)
        {
            Name = name;
            ClusterPrefix = $"{run}-{name}";
        }

        /// <summary><c>us-east</c> or <c>eu-west</c>.</summary>
        public string Name { get; }

        /// <summary>The region's Orleans cluster id (<c>--cluster-prefix</c>).</summary>
        public string ClusterPrefix { get; }

        /// <summary>The region's own <c>redis-server</c>.</summary>
        public RedisServerFixture Redis
        {
            get => _redis ?? throw new InvalidOperationException($"{Name} has no Redis yet.");
            internal set => _redis = value;
        }

        /// <summary>The region's two nodes.</summary>
        public IReadOnlyList<RegionNode> Nodes { get; internal set; } = [];

        /// <summary>The proxy in front of this region's nodes' gRPC listeners, which the peer region's nodes federate through.</summary>
        public CuttableTcpProxy Inbound
        {
            get => _inbound ?? throw new InvalidOperationException($"{Name} has no proxy yet.");
            internal set => _inbound = value;
        }

        internal bool HasRedis => _redis is not null;

        internal bool HasInbound => _inbound is not null;
    }

    /// <summary>One node of a region on fixed loopback ports (a restart comes back on the same addresses).</summary>
    public sealed class RegionNode
    {
        private ServerProcess? _process;

        internal RegionNode(Region region, int index)
        {
            Region = region;
            Name = $"{region.Name}-{index}";
            GrpcPort = FreePort.Next();
            AdminPort = FreePort.Next();
            SiloPort = FreePort.Next();
            GatewayPort = FreePort.Next();
        }

        /// <summary>The node's region.</summary>
        public Region Region { get; }

        /// <summary><c>us-east-1</c> etc. (its <c>--node-name</c>).</summary>
        public string Name { get; }

        /// <summary>The data-plane (and federation) gRPC port.</summary>
        public int GrpcPort { get; }

        /// <summary>The admin HTTP port.</summary>
        public int AdminPort { get; }

        /// <summary>The Orleans silo port.</summary>
        public int SiloPort { get; }

        /// <summary>The Orleans gateway port.</summary>
        public int GatewayPort { get; }

        /// <summary><c>http://127.0.0.1:ADMIN/</c>.</summary>
        public Uri AdminAddress => new($"http://127.0.0.1:{AdminPort}/");

        /// <summary><c>http://127.0.0.1:GRPC</c> (h2c).</summary>
        public string GrpcAddress => $"http://127.0.0.1:{GrpcPort}";

        /// <summary>The node's process.</summary>
        public ServerProcess Process
        {
            get => _process ?? throw new InvalidOperationException($"{Name} has no process yet.");
            internal set => _process = value;
        }

        internal bool HasProcess => _process is not null;

        /// <inheritdoc />
        public override string ToString() => Name;

        internal IEnumerable<string> Arguments(string fleetPath, Region? peer, IReadOnlyList<string> extra)
        {
            string[] arguments =
            [
                "--redis", Region.Redis.Endpoint,
                "--node-name", Name,
                "--grpc-listen", $"127.0.0.1:{GrpcPort}",
                "--admin-listen", $"127.0.0.1:{AdminPort}",
                "--silo-port", Port(SiloPort),
                "--gateway-port", Port(GatewayPort),
                "--cluster-prefix", Region.ClusterPrefix,
                // Orleans' own failure detection: "fast" declared a joining silo dead while a busy CI machine starved it.
                "--membership", "orleans",
                "--dashboard", "off",
                "--fleet", fleetPath,
            ];
            var federation = peer is null ? [] : new[] { "--region", Region.Name, "--federation-peer", $"{peer.Name}=http://127.0.0.1:{Port(peer.Inbound.Port)}" };
            return [.. arguments, .. federation, .. extra];
        }

        private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);
    }
}
