using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Fleet;
using ControlPlane.Service;
using ControlPlane.Testing;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Server.Tests.EndToEnd;

/// <summary>A full single node (an Orleans silo with grains on SQLite or in memory, the gRPC services on Kestrel h2c,
/// the admin API on HTTP/1.1) on free loopback ports, built and stopped by <see cref="NodeHost"/> as Program does.
/// Clients: Grpc.Net.Client, HttpClient on the admin API, and a raw HTTP/2 (prior knowledge) HttpClient.</summary>
internal sealed class ControlPlaneNode : IAsyncDisposable
{
    private readonly WebApplication _app;
    // The key store this node uses (its SQLite data directory; any other node's own): test principals' keys are shared by
    // every node on it (a restarted node reuses them).
    private string _store = Guid.NewGuid().ToString("N");
    private bool _stopped;

    private ControlPlaneNode(WebApplication app)
    {
        _app = app;
        GrpcAddress = new Uri(NodeHost.GrpcAddress(app) + "/");
        AdminAddress = new Uri(NodeHost.AdminAddress(app) + "/");
        Channel = GrpcChannel.ForAddress(GrpcAddress, new GrpcChannelOptions { HttpHandler = TestCredentials.Handler() });
        AdminChannel = GrpcChannel.ForAddress(AdminAddress, new GrpcChannelOptions { HttpHandler = TestCredentials.Handler() });
        Routing = new Routing.RoutingClient(Channel);
        AdminGrpc = new Contracts.V1.Admin.AdminClient(AdminChannel);
        Health = new Health.HealthClient(Channel);
        Admin = TestCredentials.Client(AdminAddress);
        AdminRaw = new HttpClient(TestCredentials.Handler())
        {
            BaseAddress = AdminAddress,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        Raw = new HttpClient(TestCredentials.Handler())
        {
            BaseAddress = GrpcAddress,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public Uri GrpcAddress { get; }

    public Uri AdminAddress { get; }

    /// <summary>A gRPC channel to the data-plane port carrying the all-roles test key.</summary>
    public GrpcChannel Channel { get; }

    /// <summary>A gRPC channel to the admin port (the gRPC Admin service) carrying the all-roles test key.</summary>
    public GrpcChannel AdminChannel { get; }

    public Routing.RoutingClient Routing { get; }

    public Contracts.V1.Admin.AdminClient AdminGrpc { get; }

    public Health.HealthClient Health { get; }

    /// <summary>The admin API (HTTP/1.1 JSON) with the all-roles test key.</summary>
    public HttpClient Admin { get; }

    /// <summary>HTTP/2 with prior knowledge on the gRPC port, for hand-built gRPC requests (all-roles test key).</summary>
    public HttpClient Raw { get; }

    /// <summary>HTTP/2 with prior knowledge on the admin port (the gRPC Admin service), with the all-roles test key.</summary>
    public HttpClient AdminRaw { get; }

    /// <summary>The node's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>A node keeping grain state in SQLite under <paramref name="dataDirectory"/> (survives a restart).
    /// Outcomes without a decision id are accepted unless <paramref name="acceptUnroutedOutcomes"/> is false (most tests
    /// report outcomes of their own making; the decision id tests do not).</summary>
    public static Task<ControlPlaneNode> StartAsync(string dataDirectory, FleetDefinition? fleet = null, bool enableDiagnostics = false,
        bool acceptUnroutedOutcomes = true) =>
        StartAsync(new NodeOptions
        {
            DataDirectory = dataDirectory, Storage = ControlPlaneStorage.Sqlite, EnableDiagnostics = enableDiagnostics, AcceptUnroutedOutcomes = acceptUnroutedOutcomes,
        }, fleet);

    private static int s_started;

    /// <summary>A node keeping grain state in memory (unrouted outcomes as in <see cref="StartAsync(string, FleetDefinition?, bool, bool)"/>).</summary>
    public static Task<ControlPlaneNode> StartInMemoryAsync(bool enableDiagnostics = false, FleetDefinition? fleet = null, bool acceptUnroutedOutcomes = true) =>
        StartAsync(new NodeOptions { Storage = ControlPlaneStorage.Memory, EnableDiagnostics = enableDiagnostics, AcceptUnroutedOutcomes = acceptUnroutedOutcomes }, fleet);

    /// <summary>A node started with <paramref name="options"/> (its listen addresses are replaced by free loopback ports;
    /// the all-roles test key is its bootstrap admin key unless the options name one, or <paramref name="useTestAdminKey"/>
    /// is false: the node then generates one into its data directory as in production).</summary>
    public static async Task<ControlPlaneNode> StartAsync(NodeOptions options, FleetDefinition? fleet, bool useTestAdminKey = true,
        Action<WebApplicationBuilder>? configure = null, bool defaultNodeName = false, IPEndPoint? grpcEndpoint = null)
    {
        options = options with
        {
            // Nodes of one test process need names of their own: the node name tags the node's meters, and the
            // OpenTelemetry SDK merges (and on disposal ends) the streams of meters with the same name and tags.
            NodeName = options.NodeName ?? (defaultNodeName ? null : $"test-node-{Interlocked.Increment(ref s_started)}"),
            GrpcEndpoint = grpcEndpoint ?? new IPEndPoint(IPAddress.Loopback, 0),
            AdminEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            AdminKey = options.AdminKey ?? (useTestAdminKey ? TestCredentials.AdminKey : null),
        };
        var app = NodeHost.Build(options, fleet ?? FleetLocator.Load(null), builder =>
        {
            builder.Logging.ClearProviders();
            configure?.Invoke(builder);
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

        return new ControlPlaneNode(app)
        {
            _store = options.Storage == ControlPlaneStorage.Sqlite ? Path.GetFullPath(options.DataDirectory) : Guid.NewGuid().ToString("N"),
        };
    }

    /// <summary>Routes with a 10 s call deadline; <paramref name="deadlineMs"/> (the request's own deadline) bounds how long
    /// a queue_only class's call is held when its primary is unavailable.</summary>
    public async Task<RouteDecision> RouteAsync(string workloadClass, long input = 1_000, long maxOutput = 500, long deadlineMs = 0) =>
        await Routing.RouteAsync(new RouteRequest { WorkloadClass = workloadClass, EstimatedInputTokens = input, MaxOutputTokens = maxOutput, RequestId = "r", DeadlineMs = deadlineMs },
            deadline: DateTime.UtcNow.AddSeconds(10));

    /// <summary>Routes until <paramref name="done"/> holds (outcomes reach the grains on the node's flush interval).</summary>
    public async Task<RouteDecision> RouteUntilAsync(string workloadClass, Func<RouteDecision, bool> done, long deadlineMs = 0)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            var decision = await RouteAsync(workloadClass, deadlineMs: deadlineMs);
            if (done(decision) || timeout.IsCancellationRequested)
            {
                return decision;
            }

            await Task.Delay(20, CancellationToken.None);
        }
    }

    /// <summary>Fails unless a good Route still gets a decision: the node keeps serving.</summary>
    /// <remarks>Polled (up to 20 s): on a loaded machine a lease renewal can be late, and a node without a lease
    /// answers no endpoint (quota fails closed) until it has one; a node that stopped serving never answers one.</remarks>
    public async Task AssertServingAsync()
    {
        var decision = await RouteUntilAsync("customer_chat", d => d.EndpointId.Length > 0);
        Assert.True(decision.EndpointId.Length > 0, $"the node stopped serving: {decision}");
    }

    /// <summary>POSTs to the admin API acting as <paramref name="actor"/> (an API key of that name holding every role,
    /// made once), or without any credential when <paramref name="actor"/> is null.</summary>
    public async Task<HttpResponseMessage> PostAdminAsync(string path, string json, string? actor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (actor is null)
        {
            using var anonymous = new HttpClient { BaseAddress = AdminAddress };
            return await anonymous.SendAsync(request);
        }

        request.Headers.Authorization = TestCredentials.Bearer(await KeyForAsync(actor, []));
        return await Admin.SendAsync(request);
    }

    /// <summary>An admin API client acting as <paramref name="principal"/> holding <paramref name="roles"/> (every role
    /// when none are given): an API key made through <c>POST /admin/v1/keys</c>. The caller disposes it.</summary>
    public async Task<HttpClient> AdminAsAsync(string principal, params string[] roles) =>
        TestCredentials.Client(AdminAddress, await KeyForAsync(principal, roles));

    /// <summary>The token of an API key named <paramref name="principal"/> with <paramref name="roles"/> (every role when
    /// empty): see <see cref="TestKeys"/> (one active key per name in the store; other roles replace it).</summary>
    public async Task<string> KeyForAsync(string principal, params string[] roles)
    {
        var granted = roles.Length == 0 ? [.. ControlPlane.Service.Security.Roles.All] : roles;
        return await TestKeys.ForAsync(Admin, _store, principal, granted);
    }

    /// <summary>gRPC call options acting as <paramref name="principal"/> with <paramref name="roles"/> (every role when none).</summary>
    public async Task<global::Grpc.Core.CallOptions> GrpcAsAsync(string principal, params string[] roles) =>
        new(headers: new global::Grpc.Core.Metadata { { "authorization", $"Bearer {await KeyForAsync(principal, roles)}" } });

    /// <summary>The audit trail's entries (newest first) without the key and authentication entries the test harness
    /// itself causes (the bootstrap key, the per-principal test keys): the changes a test made.</summary>
    public async Task<JsonElement> GetChangesAuditAsync()
    {
        var audit = (await GetAdminJsonAsync("admin/v1/audit?limit=1000")).GetProperty("entries");
        return JsonSerializer.SerializeToElement(audit.EnumerateArray().Where(e =>
            e.GetProperty("action").GetString() is { } action && !action.StartsWith("key.", StringComparison.Ordinal) && !action.StartsWith("auth.", StringComparison.Ordinal)).ToList());
    }

    public async Task<JsonElement> GetAdminJsonAsync(string path)
    {
        using var response = await Admin.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Stops the node as Program does (routing node first, then the host), once.</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await NodeHost.StopAsync(_app);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        Raw.Dispose();
        AdminRaw.Dispose();
        Channel.Dispose();
        AdminChannel.Dispose();
        await StopAsync();
        await _app.DisposeAsync();
    }
}
