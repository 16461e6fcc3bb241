using System.Net;
using System.Net.Sockets;
using ControlPlane.Fleet;
using ControlPlane.Service.Admin;
using ControlPlane.Service.DataPlane;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.Storage;
using Orleans.TestingHost;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.Support;

/// <summary>One control plane node: a real single-silo Orleans host (localhost clustering on a free port, SQLite grain
/// storage) with the routing node, built as the server registers them (<c>AddControlPlaneGrains</c>,
/// <c>AddControlPlaneNode</c>). Grain timers and the node run on the test's fake clock; Orleans' own background loops
/// stay on real time. A "restart" is a new node on the same <see cref="TestStorage"/> file.</summary>
internal sealed class ServiceNode : IAsyncDisposable
{
    private readonly IHost _host;
    private bool _stopped;

    private ServiceNode(IHost host)
    {
        _host = host;
    }

    public RoutingNode Node => _host.Services.GetRequiredService<RoutingNode>();

    public AdminOperations Admin => _host.Services.GetRequiredService<AdminOperations>();

    public ControlPlane.Service.Governance.PolicyOperations Policies => _host.Services.GetRequiredService<ControlPlane.Service.Governance.PolicyOperations>();

    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    public IServiceProvider Services => _host.Services;

    public static FleetDefinition SampleFleet() => FleetLoader.LoadFile(Path.Combine(AppContext.BaseDirectory, "fleet.sample.yaml"));

    public static FleetDefinition Fleet(string yaml) => FleetLoader.Load(new StringReader(yaml), "test-fleet.yaml");

    /// <summary>Starts a node whose grains persist to <paramref name="storage"/> (shared between "restarts" of a test).
    /// <paramref name="probe"/>, when given, is put between the grains and the SQLite provider;
    /// <paramref name="configureSilo"/> adds to the silo (e.g. call filters).</summary>
    public static async Task<ServiceNode> StartAsync(FakeTimeProvider time, TestStorage storage, FleetDefinition? fleet = null,
        Action<ControlPlaneOptions>? configure = null, StorageProbe? probe = null, Action<ISiloBuilder>? configureSilo = null,
        Action<ISiloBuilder>? externalStorage = null)
    {
        // No configuration sources, so no file watchers.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging();
        builder.Services.AddSingleton<TimeProvider>(time);
        // Membership, directory and other silo maintenance loops on real time; grain timers and our code on the fake clock.
        builder.Services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
        var siloPort = FreePort();
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, 0, serviceId: "controlplane-tests", clusterId: "svc-" + Guid.NewGuid().ToString("N")[..12]);
            if (externalStorage is not null)
            {
                // Another provider (e.g. Redis) registered under GrainStorage.Name by the test.
                silo.AddControlPlaneGrains(ControlPlaneStorage.External, storage.Directory);
                externalStorage(silo);
            }
            else
            {
                silo.AddControlPlaneGrains(ControlPlaneStorage.Sqlite, storage.Directory, s => s.AddSqliteGrainStorage(GrainStorage.Name, storage.DatabasePath));
            }

            if (probe is not null)
            {
                probe.Decorate(silo.Services);
            }

            configureSilo?.Invoke(silo);
        });
        // Most tests report outcomes of their own making (about breakers, budgets, flushing): they run with unrouted
        // outcomes allowed; the decision id tests turn it off again in configure.
        builder.Services.AddControlPlaneNode(fleet ?? SampleFleet(), o =>
        {
            o.AcceptUnroutedOutcomes = true;
            // Pushes are bounded in real time while these tests step a fake clock: on a loaded CI machine the default
            // 2 s drops a node from a grain's subscribers until its renewal (20 s of fake time), which tests of
            // breakers and ramps do not mean to test. A test of push timeouts sets its own.
            o.PushTimeout = TimeSpan.FromSeconds(30);
            configure?.Invoke(o);
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync();
        }
        catch
        {
            await DisposeHostAsync(host);
            throw;
        }

        return new ServiceNode(host);
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

    /// <summary>Stops the node as the server does: the routing node (flush, return leases), then the silo (grains
    /// deactivate, storage closes).</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        try
        {
            await Node.StopAsync(CancellationToken.None);
        }
        finally
        {
            await _host.StopAsync(CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            await DisposeHostAsync(_host);
        }
    }

    private static async ValueTask DisposeHostAsync(IHost host)
    {
        if (host is IAsyncDisposable asyncDisposable)
        {
            await asyncDisposable.DisposeAsync();
        }
        else
        {
            host.Dispose();
        }
    }

    private static int FreePort() => ControlPlane.Testing.FreePort.Next();
}
