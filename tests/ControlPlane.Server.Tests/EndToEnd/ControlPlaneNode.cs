using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Fleet;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Service;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Server.Tests.EndToEnd;

/// <summary>A full node (grains on SQLite, or a cluster member over Redis; Routing service, admin API) on free
/// loopback ports, built and stopped by <see cref="NodeHost"/> as Program does; clients are our gRPC client and
/// HttpClient.</summary>
internal sealed class ControlPlaneNode : IAsyncDisposable
{
    public static readonly Method<RouteRequest, RouteDecision> Route = Unary<RouteRequest, RouteDecision>("Route");
    public static readonly Method<Outcome, OutcomeAck> ReportOutcome = Unary<Outcome, OutcomeAck>("ReportOutcome");
    public static readonly Method<Outcome, OutcomeAck> ReportOutcomes = new(MethodType.ClientStreaming, "controlplane.v1.Routing", "ReportOutcomes",
        Marshallers.Protobuf<Outcome>(), Marshallers.Protobuf<OutcomeAck>());
    public static readonly Method<WatchRoutingTableRequest, RoutingTable> WatchRoutingTable = new(MethodType.ServerStreaming, "controlplane.v1.Routing",
        "WatchRoutingTable", Marshallers.Protobuf<WatchRoutingTableRequest>(), Marshallers.Protobuf<RoutingTable>());

    private readonly WebApplication _app;
    private readonly GrpcChannel _channel;

    private ControlPlaneNode(WebApplication app)
    {
        _app = app;
        GrpcAddress = new Uri(NodeHost.GrpcAddress(app) + "/");
        AdminAddress = new Uri(NodeHost.AdminAddress(app) + "/");
        _channel = GrpcChannel.ForAddress(GrpcAddress.ToString().TrimEnd('/'));
        Invoker = _channel.CreateCallInvoker();
        Admin = new HttpClient { BaseAddress = AdminAddress };
    }

    public Uri GrpcAddress { get; }

    public Uri AdminAddress { get; }

    public CallInvoker Invoker { get; }

    public HttpClient Admin { get; }

    /// <summary>The node's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The cluster node name, or null for a single node.</summary>
    public string? NodeName => NodeHost.Cluster(_app)?.NodeName;

    /// <summary>A cluster member on <paramref name="redisEndpoint"/> (grain state in Redis).</summary>
    public static async Task<ControlPlaneNode> StartClusterMemberAsync(string redisEndpoint, string nodeName, FleetDefinition? fleet = null, string prefix = "cp:e2e",
        Action<ControlPlaneOptions>? configure = null)
    {
        var options = new NodeOptions
        {
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            AdminEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            RedisEndpoint = redisEndpoint,
            NodeName = nodeName,
            ClusterPrefix = prefix,
        };
        var app = NodeHost.Build(options, fleet ?? FleetLocator.Load(null), builder => builder.Logging.ClearProviders(), configure);
        await app.StartAsync();
        return new ControlPlaneNode(app);
    }

    public static async Task<ControlPlaneNode> StartAsync(string dataDirectory, FleetDefinition? fleet = null)
    {
        var options = new NodeOptions
        {
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            AdminEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            DataDirectory = dataDirectory,
            Storage = ControlPlaneStorage.Sqlite,
        };
        var app = NodeHost.Build(options, fleet ?? FleetLocator.Load(null), builder => builder.Logging.ClearProviders());
        await app.StartAsync();
        return new ControlPlaneNode(app);
    }

    public Task<RouteDecision> RouteAsync(string workloadClass, long input = 1_000, long maxOutput = 500) =>
        Invoker.UnaryAsync(Route, new RouteRequest { WorkloadClass = workloadClass, EstimatedInputTokens = input, MaxOutputTokens = maxOutput, RequestId = "r" });

    /// <summary>Routes until <paramref name="done"/> holds (outcomes reach the grains on the node's flush interval).</summary>
    public async Task<RouteDecision> RouteUntilAsync(string workloadClass, Func<RouteDecision, bool> done)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            var decision = await RouteAsync(workloadClass);
            if (done(decision) || timeout.IsCancellationRequested)
            {
                return decision;
            }

            await Task.Delay(20, CancellationToken.None);
        }
    }

    public async Task<HttpResponseMessage> PostAdminAsync(string path, string json, string? actor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (actor is not null)
        {
            request.Headers.Add("X-Actor", actor);
        }

        return await Admin.SendAsync(request);
    }

    public async Task<JsonElement> GetAdminJsonAsync(string path)
    {
        using var response = await Admin.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        _channel.Dispose();
        await NodeHost.StopAsync(_app);
        await _app.DisposeAsync();
    }

    private static Method<TRequest, TResponse> Unary<TRequest, TResponse>(string name)
        where TRequest : Google.Protobuf.IMessage<TRequest>, new()
        where TResponse : Google.Protobuf.IMessage<TResponse>, new() =>
        new(MethodType.Unary, "controlplane.v1.Routing", name, Marshallers.Protobuf<TRequest>(), Marshallers.Protobuf<TResponse>());
}
