using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;
using System.Text.Json;
using ControlPlane.Fleet;
using ControlPlane.Simulator.Admin;
using ControlPlane.Simulator.Endpoints;
using ControlPlane.Simulator.Faults;
using ControlPlane.Simulator.Generation;
using ControlPlane.Simulator.Scenario;
using Microsoft.AspNetCore.Builder;

namespace ControlPlane.Simulator;

/// <summary>
/// A running provider simulator: every endpoint of the fleet on its own port, the scenario's faults on the scenario
/// clock, and the admin API (<c>docs/simulator.md</c>). Dispose to stop every listener.
/// </summary>
public sealed class SimulatorHost : IAsyncDisposable
{
    private readonly SimulatorOptions _options;
    private readonly WebApplication _admin;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _reconcileLoop;
    private readonly SemaphoreSlim _reconcileGate = new(1, 1);

    private SimulatorHost(
        SimulatorOptions options, FleetDefinition fleet, SimulatorScenario? scenario, int seed,
        ImmutableArray<SimulatedEndpoint> endpoints, FaultBook faults, WebApplication admin, Uri adminUri)
    {
        _options = options;
        Fleet = fleet;
        Scenario = scenario;
        Seed = seed;
        Endpoints = endpoints;
        EndpointsById = endpoints.ToFrozenDictionary(e => e.Id, StringComparer.Ordinal);
        Faults = faults;
        _admin = admin;
        AdminUri = adminUri;
        EndpointUris = endpoints.ToFrozenDictionary(e => e.Id, e => e.Url, StringComparer.Ordinal);
        _reconcileLoop = Task.Run(() => ReconcileLoopAsync(_stopping.Token));
    }

    /// <summary>The admin API's base URL (<c>http://127.0.0.1:PORT</c>).</summary>
    public Uri AdminUri { get; }

    /// <summary>Each endpoint's base URL by endpoint id.</summary>
    public IReadOnlyDictionary<string, Uri> EndpointUris { get; }

    /// <summary>The seed in use.</summary>
    public int Seed { get; }

    /// <summary>The simulated fleet.</summary>
    public FleetDefinition Fleet { get; }

    /// <summary>The scenario played; null when none.</summary>
    public SimulatorScenario? Scenario { get; }

    internal ImmutableArray<SimulatedEndpoint> Endpoints { get; }

    internal FrozenDictionary<string, SimulatedEndpoint> EndpointsById { get; }

    internal FaultBook Faults { get; }

    internal TimeProvider Time => _options.TimeProvider;

    /// <summary>Starts the simulator: loads the fleet and scenario, binds every endpoint and the admin API, starts the
    /// scenario clock unless <see cref="SimulatorOptions.Hold"/>, and writes the upstreams file when asked.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="FleetConfigException">The fleet file is invalid.</exception>
    /// <exception cref="ScenarioFileException">The scenario file is invalid.</exception>
    public static async Task<SimulatorHost> StartAsync(SimulatorOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var fleet = options.Fleet ?? FleetLoader.LoadFile(options.FleetPath!);
        var ids = fleet.Endpoints.Select(e => e.Id).ToFrozenSet(StringComparer.Ordinal);
        var scenario = options.Scenario ?? (options.ScenarioPath is { } path ? ScenarioLoader.LoadFile(path, ids) : null);
        if (scenario is not null && scenario.Faults.FirstOrDefault(f => !ids.Contains(f.Endpoint)) is { } stray)
        {
            throw new ArgumentException($"The scenario's fault names endpoint '{stray.Endpoint}', which is not in the fleet.", nameof(options));
        }

        if (options.BasePort > 0 && options.BasePort + fleet.Endpoints.Length - 1 > 65535)
        {
            throw new ArgumentException("--base-port leaves too few ports for the fleet's endpoints.", nameof(options));
        }

        int seed = options.Seed ?? scenario?.Seed ?? 1;
        var address = IPAddress.Parse(options.Host);
        var faults = new FaultBook(options.TimeProvider);
        var endpoints = ImmutableArray.CreateBuilder<SimulatedEndpoint>();
        WebApplication? admin = null;
        try
        {
            for (int i = 0; i < fleet.Endpoints.Length; i++)
            {
                var entry = fleet.Endpoints[i];
                var latency = LatencyModel.For(entry.Descriptor.Model, scenario?.Latency.GetValueOrDefault(entry.Id));
                int port = options.BasePort > 0 ? options.BasePort + i : 0;
                var endpoint = new SimulatedEndpoint(entry, address, port, seed, options, faults, latency);
                endpoints.Add(endpoint);
                await endpoint.SetListeningAsync(true, cancellationToken).ConfigureAwait(false);
            }

            SimulatorHost? host = null;
            (admin, var adminUri) = await AdminApi.StartAsync(options.AdminPort, () => host, cancellationToken).ConfigureAwait(false);
            host = new SimulatorHost(options, fleet, scenario, seed, endpoints.ToImmutable(), faults, admin, adminUri);
            if (!options.Hold)
            {
                await host.StartClockAsync(cancellationToken).ConfigureAwait(false);
            }

            if (options.UpstreamsOut is { } upstreams)
            {
                host.WriteUpstreams(upstreams);
            }

            return host;
        }
        catch
        {
            foreach (var endpoint in endpoints)
            {
                await endpoint.DisposeAsync().ConfigureAwait(false);
            }

            if (admin is not null)
            {
                await admin.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>Writes the upstreams file (<c>docs/simulator.md</c>) to <paramref name="path"/>; returns its full path.</summary>
    public string WriteUpstreams(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        if (Path.GetDirectoryName(full) is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("endpoints");
            foreach (var endpoint in Endpoints)
            {
                var descriptor = endpoint.Entry.Descriptor;
                writer.WriteStartObject(endpoint.Id);
                writer.WriteString("url", endpoint.Url.ToString().TrimEnd('/'));
                writer.WriteString("api", endpoint.Api);
                writer.WriteString("provider", descriptor.Provider);
                writer.WriteString("model", descriptor.Model);
                writer.WriteString("model_version", descriptor.ModelVersion);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        // Write then rename, so a reader polling for the file never sees half of it.
        string temporary = full + ".tmp";
        File.WriteAllBytes(temporary, buffer.ToArray());
        File.Move(temporary, full, overwrite: true);
        return full;
    }

    /// <summary>Each endpoint's cumulative counters by endpoint id (what <c>GET /sim/v1/stats</c> shows).</summary>
    public IReadOnlyDictionary<string, EndpointStatsSnapshot> GetStats() =>
        Endpoints.ToDictionary(e => e.Id, e => e.Stats.Snapshot(), StringComparer.Ordinal);

    /// <summary>(Re)starts the scenario clock now (what <c>POST /sim/v1/clock/start</c> does): the scenario's faults are
    /// placed from now, posted faults stay, and refused ports close or open at once. Returns the clock's start.</summary>
    public async Task<DateTimeOffset> StartClockAsync(CancellationToken cancellationToken)
    {
        var started = Faults.StartClock(Scenario?.Faults ?? []);
        await ReconcileAsync(cancellationToken).ConfigureAwait(false);
        return started;
    }

    /// <summary>Closes the ports of endpoints under a refused outage and reopens the others.</summary>
    internal async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        await _reconcileGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = Time.GetUtcNow();
            var refused = Faults.All
                .Where(f => f.Spec is { Kind: FaultKind.Outage, Mode: OutageMode.Refused } && f.IsActive(now))
                .Select(f => f.Spec.Endpoint)
                .ToHashSet(StringComparer.Ordinal);
            foreach (var endpoint in Endpoints)
            {
                bool listen = !refused.Contains(endpoint.Id);
                if (listen != endpoint.IsListening)
                {
                    await endpoint.SetListeningAsync(listen, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _reconcileGate.Release();
        }
    }

    /// <summary>Stops the admin API and every endpoint.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _reconcileLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }

        await _admin.DisposeAsync().ConfigureAwait(false);
        foreach (var endpoint in Endpoints)
        {
            await endpoint.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
        _reconcileGate.Dispose();
    }

    private async Task ReconcileLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.ReconcileInterval, Time);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await ReconcileAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A port that cannot be rebound yet (or a listener that failed to stop): the next tick tries again, so
                // one failure never leaves a port closed after its refused outage ended.
                await Console.Error.WriteLineAsync("simulator: reconciling listeners failed, retrying: " + e.Message).ConfigureAwait(false);
            }
        }
    }
}
