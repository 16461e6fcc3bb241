using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Fleet;
using ControlPlane.Service;
using ControlPlane.Testing;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace ControlPlane.Server.Cluster.Tests.Support;

/// <summary>One cluster node in this process: a real <see cref="NodeHost"/> WebApplication (real Kestrel on free
/// loopback ports, a real Orleans TCP silo or gateway client over Redis clustering), built and stopped as Program
/// does. Clients: the generated gRPC <see cref="Routing.RoutingClient"/> (h2c) and an HttpClient on the admin port.</summary>
internal sealed class ClusterNode : IAsyncDisposable
{
    private readonly WebApplication _app;
    // The key store this node uses (its cluster's): test principals' keys are shared by every node of the cluster.
    private string _store = Guid.NewGuid().ToString("N");
    private readonly GrpcChannel? _channel;
    private readonly Routing.RoutingClient? _routing;
    private int _stopped;

    private ClusterNode(WebApplication app, string name, NodeRole role)
    {
        _app = app;
        Name = name;
        Role = role;
        AdminAddress = new Uri(NodeHost.AdminAddress(app) + "/");
        Admin = new HttpClient(TestCredentials.Handler()) { BaseAddress = AdminAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (role != NodeRole.Silo)
        {
            GrpcAddress = new Uri(NodeHost.GrpcAddress(app));
            _channel = GrpcChannel.ForAddress(GrpcAddress, new GrpcChannelOptions { HttpHandler = TestCredentials.Handler() });
            _routing = new Routing.RoutingClient(_channel);
        }

        SiloEndpoint = role == NodeRole.DataPlane ? null : app.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.Endpoint.ToString();
    }

    /// <summary>The node (silo) name.</summary>
    public string Name { get; }

    /// <summary>What the node runs.</summary>
    public NodeRole Role { get; }

    /// <summary>The data-plane gRPC address; null on a silo-only node.</summary>
    public Uri? GrpcAddress { get; }

    /// <summary>The admin API's base address.</summary>
    public Uri AdminAddress { get; }

    /// <summary>The silo's <c>ip:port</c> (what the admin views' <c>host</c> names); null on a data-plane node.</summary>
    public string? SiloEndpoint { get; }

    /// <summary>An HttpClient on the admin port.</summary>
    public HttpClient Admin { get; }

    /// <summary>The data-plane client.</summary>
    public Routing.RoutingClient Routing => _routing ?? throw new InvalidOperationException($"{Name} is a silo-only node: no data plane.");

    /// <summary>True once the node was stopped or crashed.</summary>
    public bool IsStopped => Volatile.Read(ref _stopped) != 0;

    /// <summary>Builds and starts a cluster node on <paramref name="redis"/>.</summary>
    public static async Task<ClusterNode> StartAsync(string redis, string clusterId, string name, FleetDefinition fleet, NodeRole role,
        Action<ControlPlaneOptions>? configure = null, ITestOutputHelper? output = null, Action<ControlPlane.Service.Security.SecurityOptions>? configureSecurity = null,
        Action<IServiceCollection>? services = null)
    {
        var options = new NodeOptions
        {
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            AdminEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            RedisEndpoint = redis,
            NodeName = name,
            ClusterPrefix = clusterId,
            Role = role,
            SiloPort = 0,
            GatewayPort = 0,
            AdminKey = TestCredentials.AdminKey,
            ConfigureSecurity = configureSecurity,
        };
        var app = NodeHost.Build(options, fleet, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Services.AddSingleton<IFatalErrorHandler>(new TestFatalErrorHandler(output, name));
            if (output is not null)
            {
                builder.Logging.AddProvider(new TestOutputLoggerProvider(output, name));
            }

            services?.Invoke(builder.Services);
        }, o =>
        {
            // The cluster tests report outcomes of their own making (breakers, leases): unrouted outcomes allowed.
            o.AcceptUnroutedOutcomes = true;
            configure?.Invoke(o);
        });
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new ClusterNode(app, name, role) { _store = $"{redis}/{clusterId}" };
    }

    /// <summary>Routes one request (a 10 s call deadline; <paramref name="deadlineMs"/>, the request's own deadline, bounds
    /// how long a queue_only class's call is held while its primary is unavailable).</summary>
    public async Task<RouteDecision> RouteAsync(string workloadClass, long input = 1_000, long maxOutput = 500, CancellationToken cancellationToken = default, long deadlineMs = 0) =>
        await Routing.RouteAsync(
            new RouteRequest { WorkloadClass = workloadClass, EstimatedInputTokens = input, MaxOutputTokens = maxOutput, RequestId = Guid.NewGuid().ToString("N"), DeadlineMs = deadlineMs },
            deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);

    /// <summary>Routes until <paramref name="done"/> holds; fails naming the last decision (or error) after <paramref name="timeout"/>.</summary>
    public async Task<RouteDecision> RouteUntilAsync(string workloadClass, Func<RouteDecision, bool> done, TimeSpan? timeout = null, long deadlineMs = 0)
    {
        RouteDecision? last = null;
        await Poll.UntilAsync(async () =>
        {
            last = await RouteAsync(workloadClass, deadlineMs: deadlineMs);
            return done(last);
        }, () => $"{Name}: Route({workloadClass}) never satisfied the condition; last decision {last}", timeout);
        return last!;
    }

    /// <summary>POSTs a JSON body to the admin API as <paramref name="actor"/> (an API key of that name holding every role,
    /// made once per cluster), or without a credential when <paramref name="actor"/> is null.</summary>
    public async Task<HttpResponseMessage> PostAdminAsync(string path, string json, string? actor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (actor is null)
        {
            using var anonymous = new HttpClient { BaseAddress = AdminAddress };
            return await anonymous.SendAsync(request);
        }

        request.Headers.Authorization = TestCredentials.Bearer(await KeyForAsync(actor));
        return await Admin.SendAsync(request);
    }

    /// <summary>The token of an API key named <paramref name="principal"/> with <paramref name="roles"/> (every role when
    /// empty), made through this node's admin API once per cluster: see <see cref="TestKeys"/>.</summary>
    public async Task<string> KeyForAsync(string principal, params string[] roles)
    {
        var granted = roles.Length == 0 ? [.. ControlPlane.Service.Security.Roles.All] : roles;
        return await TestKeys.ForAsync(Admin, _store, principal, granted);
    }

    /// <summary>POSTs until the admin API answers 200 (a grain can be briefly unavailable, 503, while it moves).</summary>
    public async Task<JsonElement> PostAdminOkAsync(string path, string json, string actor, TimeSpan? timeout = null)
    {
        JsonElement body = default;
        var last = "";
        await Poll.UntilAsync(async () =>
        {
            using var response = await PostAdminAsync(path, json, actor);
            last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            Assert.NotEqual(HttpStatusCode.BadRequest, response.StatusCode);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }

            body = await response.Content.ReadFromJsonAsync<JsonElement>();
            return true;
        }, () => $"{Name}: POST {path} never answered 200; last answer {last}", timeout);
        return body;
    }

    /// <summary>The audit trail's entries (newest first) without the key and authentication entries the test harness
    /// itself causes (the bootstrap key, the per-principal test keys): the changes a test made.</summary>
    public async Task<JsonElement> GetChangesAuditAsync()
    {
        var audit = (await GetAdminJsonAsync("admin/v1/audit?limit=1000")).GetProperty("entries");
        return JsonSerializer.SerializeToElement(audit.EnumerateArray().Where(e =>
            e.GetProperty("action").GetString() is { } action && !action.StartsWith("key.", StringComparison.Ordinal) && !action.StartsWith("auth.", StringComparison.Ordinal)).ToList());
    }

    /// <summary>GETs an admin resource and asserts 200.</summary>
    public async Task<JsonElement> GetAdminJsonAsync(string path)
    {
        using var response = await Admin.GetAsync(path);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{Name}: GET {path} answered {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Stops the node gracefully, as SIGTERM does (<see cref="NodeHost.StopAsync"/>: leases returned, outcomes
    /// flushed, the silo leaves the cluster handing its grains over), then disposes it.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        DisposeClients();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await NodeHost.StopAsync(_app, timeout.Token);
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }

    /// <summary>Stops the node abruptly: the application is disposed without any stop (no NodeHost.StopAsync, no host
    /// StopAsync). The routing node neither flushes outcomes nor returns its leases, and Orleans, disposed while running,
    /// shuts the silo down non-gracefully: lifecycle stop cancelled, grains dropped without deactivating, sockets closed.
    /// Orleans still marks the silo Dead in the membership table on the way down (a SIGKILLed process would not; the
    /// others would have to find it dead by probing: process-level faults are tested elsewhere).</summary>
    public async Task CrashAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        DisposeClients();
        await _app.DisposeAsync();
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    private void DisposeClients()
    {
        Admin.Dispose();
        _channel?.Dispose();
    }
}
