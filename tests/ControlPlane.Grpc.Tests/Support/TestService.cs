using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Grpc.Tests.Support;

/// <summary>A service whose four methods (one per call shape) run whatever the current test sets,
/// so one server per test class serves every scenario. Defaults echo.</summary>
public sealed class TestService
{
    public const string Name = "test.v1.Test";
    public const string UnaryPath = "/test.v1.Test/Unary";
    public const string ServerStreamingPath = "/test.v1.Test/ServerStreaming";
    public const string ClientStreamingPath = "/test.v1.Test/ClientStreaming";
    public const string DuplexPath = "/test.v1.Test/Duplex";

    public UnaryServerMethod<EchoRequest, EchoResponse> Unary { get; set; } = null!;
    public ServerStreamingServerMethod<EchoRequest, EchoResponse> ServerStreaming { get; set; } = null!;
    public ClientStreamingServerMethod<EchoRequest, EchoResponse> ClientStreaming { get; set; } = null!;
    public DuplexStreamingServerMethod<EchoRequest, EchoResponse> Duplex { get; set; } = null!;

    public TestService() => Reset();

    public void Reset()
    {
        Unary = (request, _) => Task.FromResult(new EchoResponse { Message = request.Message, Payload = request.Payload, Count = 1 });
        ServerStreaming = async (request, responses, context) =>
        {
            for (var i = 0; i < request.Count; i++)
            {
                await responses.WriteAsync(new EchoResponse { Message = request.Message, Sequence = i, Count = request.Count });
            }
        };
        ClientStreaming = async (requests, context) =>
        {
            var text = "";
            var count = 0;
            while (await requests.MoveNext(context.CancellationToken))
            {
                text += requests.Current.Message;
                count++;
            }

            return new EchoResponse { Message = text, Count = count };
        };
        Duplex = async (requests, responses, context) =>
        {
            var i = 0;
            while (await requests.MoveNext(context.CancellationToken))
            {
                await responses.WriteAsync(new EchoResponse { Message = requests.Current.Message, Sequence = i++ });
            }
        };
    }

    public GrpcServiceDefinition CreateDefinition() =>
        GrpcServiceDefinition.CreateBuilder(Name)
            .AddUnary<EchoRequest, EchoResponse>("Unary", (r, c) => Unary(r, c))
            .AddServerStreaming<EchoRequest, EchoResponse>("ServerStreaming", (r, s, c) => ServerStreaming(r, s, c))
            .AddClientStreaming<EchoRequest, EchoResponse>("ClientStreaming", (s, c) => ClientStreaming(s, c))
            .AddDuplexStreaming<EchoRequest, EchoResponse>("Duplex", (s, w, c) => Duplex(s, w, c))
            .Build();
}

/// <summary>One server with a <see cref="TestService"/> per test class; each test resets the handlers.</summary>
public sealed class TestServerFixture : IAsyncLifetime
{
    public TestService Service { get; } = new();

    public GrpcTestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Server = await GrpcTestServer.StartAsync(services => services.AddGrpcService(_ => Service.CreateDefinition()));

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
