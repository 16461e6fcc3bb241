using System.Net;
using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Tests.Support;
using Google.Protobuf;

namespace ControlPlane.Grpc.Tests.EndToEnd;

/// <summary>Malformed requests sent by a raw HttpClient get the status the spec names, and the server keeps
/// serving our client's calls afterwards.</summary>
public sealed class BadInputTests : IClassFixture<EndToEndFixture>, IDisposable
{
    private readonly EndToEndFixture _fixture;
    private readonly GrpcChannel _channel;

    public BadInputTests(EndToEndFixture fixture)
    {
        _fixture = fixture;
        fixture.Service.Reset();
        _channel = GrpcChannel.ForAddress(fixture.Server.Address);
    }

    public void Dispose() => _channel.Dispose();

    public static TheoryData<string, byte[], StatusCode> MalformedBodies
    {
        get
        {
            var valid = GrpcWire.Frame(new EchoRequest { Message = "hello" });
            return new TheoryData<string, byte[], StatusCode>
            {
                { "truncated header", valid[..3], StatusCode.Internal },
                { "truncated message", valid[..^2], StatusCode.Internal },
                { "length prefix larger than the body", GrpcWire.Frame(new EchoRequest { Message = "hello" }.ToByteArray(), declaredLength: 1000), StatusCode.Internal },
                { "invalid compressed flag", GrpcWire.Frame(new EchoRequest { Message = "x" }.ToByteArray(), flag: 7), StatusCode.Internal },
                { "oversized message", GrpcWire.Frame([], declaredLength: 5 * 1024 * 1024), StatusCode.ResourceExhausted },
                { "garbage protobuf", GrpcWire.Frame([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]), StatusCode.Internal },
                { "two messages for a unary method", [.. valid, .. valid], StatusCode.Internal },
            };
        }
    }

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task Malformed_body_gets_its_status_and_the_server_keeps_serving(string name, byte[] body, StatusCode expected)
    {
        var response = await _fixture.Server.Client.CallAsync(TestService.UnaryPath, body);

        Assert.True(expected == response.Status, $"{name}: expected {expected}, got {response.Status}");
        await AssertServingAsync();
    }

    [Fact]
    public async Task Wrong_content_type_is_http_415_and_the_server_keeps_serving()
    {
        using var request = GrpcWire.Request(TestService.UnaryPath, GrpcWire.Frame(new EchoRequest()), ("content-type", "application/json"));
        using var response = await _fixture.Server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        await AssertServingAsync();
    }

    [Fact]
    public async Task Http_1_1_request_is_refused_and_the_server_keeps_serving()
    {
        using var http1 = new HttpClient { BaseAddress = _fixture.Server.Address };
        using var request = GrpcWire.Request(TestService.UnaryPath, GrpcWire.Frame(new EchoRequest()));
        request.Version = HttpVersion.Version11;

        using var response = await http1.SendAsync(request);

        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
        await AssertServingAsync();
    }

    [Fact]
    public async Task Our_client_sees_a_server_side_framing_error_as_that_status()
    {
        // A deflate-declared request whose bytes are not deflate: the server's INTERNAL reaches our client.
        using var channel = GrpcChannel.ForAddress(_fixture.Server.Address, new GrpcChannelOptions { HttpHandler = new CorruptingHandler(new SocketsHttpHandler()) });

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().UnaryAsync(TestMethods.Unary, new EchoRequest { Message = "x" }));

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        await AssertServingAsync();
    }

    private async Task AssertServingAsync()
    {
        var reply = await _channel.CreateCallInvoker().UnaryAsync(TestMethods.Unary, new EchoRequest { Message = "still serving" });
        Assert.Equal("still serving", reply.Message);
    }

    /// <summary>Rewrites each request body into a frame flagged compressed under grpc-encoding: deflate, with bytes that do not inflate.</summary>
    private sealed class CorruptingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.TryAddWithoutValidation("grpc-encoding", "deflate");
            var content = new ByteArrayContent(GrpcWire.Frame([1, 2, 3, 4, 5, 6, 7, 8], flag: 1));
            content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
            request.Content = content;
            return base.SendAsync(request, cancellationToken);
        }
    }
}
