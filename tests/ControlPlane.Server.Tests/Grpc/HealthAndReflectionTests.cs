using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Server.Tests.Support;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Health.V1;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;
using V1 = Grpc.Reflection.V1;
using V1Alpha = Grpc.Reflection.V1Alpha;

namespace ControlPlane.Server.Tests.Grpc;

/// <summary>grpc.health.v1 (Grpc.AspNetCore.HealthChecks over the routing-ready check) and server reflection v1 and
/// v1alpha on a ready node.</summary>
public sealed class HealthAndReflectionTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private const string V1Path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
    private const string V1AlphaPath = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

    private static readonly string[] Services =
    [
        "controlplane.v1.Admin", "controlplane.v1.Routing", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ];

    private ControlPlaneNode Node => fixture.Node;

    [Theory]
    [InlineData("")]
    [InlineData("controlplane.v1.Routing")]
    public async Task Check_is_SERVING_once_the_node_is_ready(string service)
    {
        var response = await Node.Health.CheckAsync(new HealthCheckRequest { Service = service });

        Assert.Equal(ServingStatus.Serving, response.Status);
    }

    [Theory]
    [InlineData("no.such.Service")]
    [InlineData("controlplane.v1.Diagnostics")]
    [InlineData("controlplane.v1.routing")]
    public async Task Check_of_an_unknown_service_is_NOT_FOUND(string service)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Node.Health.CheckAsync(new HealthCheckRequest { Service = service }));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        await Node.AssertServingAsync();
    }

    [Fact]
    public async Task Check_over_raw_HTTP_2_is_SERVING()
    {
        var response = await Node.Raw.UnaryAsync("/grpc.health.v1.Health/Check", new HealthCheckRequest { Service = "controlplane.v1.Routing" });

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal(ServingStatus.Serving, response.Single(HealthCheckResponse.Parser).Status);
    }

    [Fact]
    public async Task Watch_sends_SERVING_first()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watch = Node.Health.Watch(new HealthCheckRequest { Service = "controlplane.v1.Routing" }, cancellationToken: timeout.Token);

        Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task Reflection_v1_lists_the_services()
    {
        var responses = await CallAsync(V1Path, [new V1.ServerReflectionRequest { Host = "h", ListServices = "" }], V1.ServerReflectionResponse.Parser);

        var response = Assert.Single(responses);
        Assert.Equal(Services, response.ListServicesResponse.Service.Select(s => s.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Reflection_v1alpha_lists_the_services()
    {
        var responses = await CallAsync(V1AlphaPath, [new V1Alpha.ServerReflectionRequest { ListServices = "*" }], V1Alpha.ServerReflectionResponse.Parser);

        Assert.Equal(Services, Assert.Single(responses).ListServicesResponse.Service.Select(s => s.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Reflection_v1_finds_the_file_of_the_Routing_service_and_says_NOT_FOUND_for_unknown_symbols()
    {
        var responses = await CallAsync(V1Path,
            [
                new V1.ServerReflectionRequest { FileContainingSymbol = "controlplane.v1.Routing" },
                new V1.ServerReflectionRequest { FileContainingSymbol = "no.such.Symbol" },
            ],
            V1.ServerReflectionResponse.Parser);

        Assert.Equal(2, responses.Count);
        var files = responses[0].FileDescriptorResponse.FileDescriptorProto.Select(b => FileDescriptorProto.Parser.ParseFrom(b)).ToList();
        Assert.Contains(files, f => f.Name == "controlplane/v1/routing.proto" && f.Service.Any(s => s.Name == "Routing"));
        Assert.Equal((int)StatusCode.NotFound, responses[1].ErrorResponse.ErrorCode);
    }

    private async Task<List<T>> CallAsync<T>(string path, IMessage[] requests, MessageParser<T> parser)
        where T : IMessage<T>
    {
        var response = await Node.Raw.CallAsync(path, [.. requests.SelectMany(GrpcWire.Frame)]);
        Assert.Equal(StatusCode.OK, response.Status);
        return [.. response.Payloads.Select(p => parser.ParseFrom(p))];
    }
}
