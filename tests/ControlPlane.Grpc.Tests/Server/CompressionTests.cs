using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Tests.Support;
using Google.Protobuf;

namespace ControlPlane.Grpc.Tests.Server;

public sealed class CompressionTests : IClassFixture<TestServerFixture>
{
    private static readonly string Large = new('z', 10_000);
    private readonly TestServerFixture _fixture;

    public CompressionTests(TestServerFixture fixture)
    {
        _fixture = fixture;
        _fixture.Service.Reset();
    }

    [Fact]
    public async Task Gzip_request_is_decompressed_and_the_response_is_gzip_compressed()
    {
        var response = await _fixture.Server.Client.CallAsync(TestService.UnaryPath, GrpcWire.GzipFrame(new EchoRequest { Message = Large }),
            ("grpc-encoding", "gzip"), ("grpc-accept-encoding", "gzip"));

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal("gzip", Assert.Single(response.Headers.GetValues("grpc-encoding")));
        var (flag, payload) = Assert.Single(response.Frames);
        Assert.Equal(1, flag);
        Assert.True(payload.Length < Large.Length / 10);
        Assert.Equal(Large, EchoResponse.Parser.ParseFrom(GrpcWire.Gunzip(payload)).Message);
    }

    [Fact]
    public async Task Deflate_works_both_ways()
    {
        var request = GrpcWire.Frame(GrpcWire.Deflate(new EchoRequest { Message = Large }.ToByteArray()), flag: 1);

        var response = await _fixture.Server.Client.CallAsync(TestService.UnaryPath, request,
            ("grpc-encoding", "deflate"), ("grpc-accept-encoding", "identity,deflate"));

        Assert.Equal("deflate", Assert.Single(response.Headers.GetValues("grpc-encoding")));
        var (flag, payload) = Assert.Single(response.Frames);
        Assert.Equal(1, flag);
        Assert.Equal(Large, EchoResponse.Parser.ParseFrom(GrpcWire.Inflate(payload)).Message);
    }

    [Fact]
    public async Task Response_is_not_compressed_with_an_encoding_the_client_does_not_accept()
    {
        var response = await _fixture.Server.Client.CallAsync(TestService.UnaryPath, GrpcWire.GzipFrame(new EchoRequest { Message = "m" }),
            ("grpc-encoding", "gzip"));

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.False(response.Headers.Contains("grpc-encoding"));
        Assert.Equal(0, Assert.Single(response.Frames).Flag);
    }

    [Fact]
    public async Task Handler_can_choose_response_compression_for_an_uncompressed_request()
    {
        _fixture.Service.ServerStreaming = async (request, responses, context) =>
        {
            context.ResponseCompression = "gzip";
            await responses.WriteAsync(new EchoResponse { Message = request.Message });
            await responses.WriteAsync(new EchoResponse { Message = request.Message });
            Assert.Throws<InvalidOperationException>(() => context.ResponseCompression = "deflate");
        };

        var response = await _fixture.Server.Client.UnaryAsync(TestService.ServerStreamingPath, new EchoRequest { Message = Large },
            ("grpc-accept-encoding", "identity,gzip"));

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal(2, response.Frames.Count);
        Assert.All(response.Frames, f => Assert.Equal(Large, EchoResponse.Parser.ParseFrom(GrpcWire.Gunzip(f.Payload)).Message));
    }

    [Fact]
    public async Task Decompressed_size_over_the_limit_is_RESOURCE_EXHAUSTED()
    {
        await using var server = await GrpcTestServer.StartAsync(
            services => services.AddGrpcService(new TestService().CreateDefinition()),
            options => options.MaxReceiveMessageSize = 1024);

        // 4 KiB of zeros compresses to a few bytes: only the decompressed size exceeds the limit.
        var response = await server.Client.CallAsync(TestService.UnaryPath,
            GrpcWire.GzipFrame(new EchoRequest { Payload = ByteString.CopyFrom(new byte[4096]) }), ("grpc-encoding", "gzip"));

        Assert.Equal(StatusCode.ResourceExhausted, response.Status);
    }

    [Fact]
    public async Task Server_option_compresses_responses_for_clients_that_accept_it()
    {
        await using var server = await GrpcTestServer.StartAsync(
            services => services.AddGrpcService(new TestService().CreateDefinition()),
            options => options.ResponseCompression = "gzip");

        var accepting = await server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest { Message = Large }, ("grpc-accept-encoding", "gzip"));
        var plain = await server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest { Message = Large });

        Assert.Equal(1, Assert.Single(accepting.Frames).Flag);
        Assert.Equal(0, Assert.Single(plain.Frames).Flag);
        Assert.Equal(Large, plain.Single(EchoResponse.Parser).Message);
    }
}
