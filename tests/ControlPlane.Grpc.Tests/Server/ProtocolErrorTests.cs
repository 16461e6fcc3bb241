using System.Net;
using System.Net.Http.Headers;
using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Tests.Support;
using Google.Protobuf;

namespace ControlPlane.Grpc.Tests.Server;

/// <summary>Bad input of every kind gets a clear status, and the server keeps serving afterwards.</summary>
public sealed class ProtocolErrorTests : IClassFixture<TestServerFixture>
{
    private readonly TestServerFixture _fixture;
    private readonly HttpClient _client;

    public ProtocolErrorTests(TestServerFixture fixture)
    {
        _fixture = fixture;
        _fixture.Service.Reset();
        _client = fixture.Server.Client;
    }

    [Theory]
    [InlineData("/test.v1.Test/Missing", "Method '/test.v1.Test/Missing' is unimplemented.")]
    [InlineData("/no.such.Service/Call", "Service 'no.such.Service' is unimplemented.")]
    [InlineData("/test.v1.Test/unary", "Method '/test.v1.Test/unary' is unimplemented.")]
    [InlineData("/test.v1.test/Unary", "Service 'test.v1.test' is unimplemented.")]
    [InlineData("/justonesegment", "Method '/justonesegment' is unimplemented.")]
    public async Task Unknown_method_is_HTTP_200_Trailers_Only_UNIMPLEMENTED_without_body(string path, string detail)
    {
        var response = await _client.UnaryAsync(path, new EchoRequest());

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.Equal("application/grpc", response.ContentHeaders.ContentType?.MediaType);
        Assert.True(response.TrailersOnly);
        Assert.Empty(response.Trailers);
        Assert.Empty(response.Body);
        Assert.Equal(StatusCode.Unimplemented, response.Status);
        Assert.Equal(detail, response.Message);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Truncated_message_header_is_INTERNAL()
    {
        var response = await _client.CallAsync(TestService.UnaryPath, [0, 0, 0]);

        AssertStatus(response, StatusCode.Internal, "Incomplete gRPC message header");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Length_prefix_larger_than_the_body_is_INTERNAL()
    {
        var response = await _client.CallAsync(TestService.UnaryPath, GrpcWire.Frame([1, 2, 3], declaredLength: 10));

        AssertStatus(response, StatusCode.Internal, "stream ended after 3 of 10 message bytes");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Invalid_compressed_flag_is_INTERNAL()
    {
        var response = await _client.CallAsync(TestService.UnaryPath, GrpcWire.Frame(new EchoRequest().ToByteArray(), flag: 2));

        AssertStatus(response, StatusCode.Internal, "compressed flag 2");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Garbage_protobuf_is_INTERNAL()
    {
        var response = await _client.CallAsync(TestService.UnaryPath, GrpcWire.Frame([0x0A, 0xFF, 0xFF, 0x01]));

        AssertStatus(response, StatusCode.Internal, "Failed to deserialize EchoRequest");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Oversized_message_is_RESOURCE_EXHAUSTED_from_the_header_before_the_body_arrives()
    {
        // The header claims 100 MiB but only 3 bytes follow and the request stays open:
        // the answer can only come from the 5-byte header.
        var content = new StreamingContent();
        content.Write(GrpcWire.Frame([1, 2, 3], declaredLength: 100 * 1024 * 1024));
        using var request = GrpcWire.Request(TestService.UnaryPath, content);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var result = await GrpcResponse.ReadAsync(response);
        content.Complete();

        AssertStatus(result, StatusCode.ResourceExhausted, "larger than max (104857600 vs. 4194304 bytes)");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Unary_request_without_a_message_is_INTERNAL()
    {
        var response = await _client.CallAsync(TestService.UnaryPath, []);

        AssertStatus(response, StatusCode.Internal, "ended without a message");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Unary_request_with_two_messages_is_INTERNAL()
    {
        var twice = GrpcWire.Frame(new EchoRequest { Message = "a" }).Concat(GrpcWire.Frame(new EchoRequest { Message = "b" })).ToArray();

        var response = await _client.CallAsync(TestService.UnaryPath, twice);

        AssertStatus(response, StatusCode.Internal, "more than one message");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Malformed_frame_in_a_client_stream_reaches_the_handler_as_INTERNAL()
    {
        var body = GrpcWire.Frame(new EchoRequest { Message = "ok" }).Concat(GrpcWire.Frame([9], flag: 7)).ToArray();

        var response = await _client.CallAsync(TestService.ClientStreamingPath, body);

        AssertStatus(response, StatusCode.Internal, "compressed flag 7");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Wrong_content_type_is_HTTP_415_with_a_text_explanation()
    {
        using var request = GrpcWire.Request(TestService.UnaryPath, GrpcWire.Frame(new EchoRequest()));
        request.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("13", Assert.Single(response.Headers.GetValues("grpc-status")));
        Assert.Contains("Content-Type 'application/json' is not supported", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await AssertStillServesAsync();
    }

    [Theory]
    [InlineData("application/grpc+proto")]
    [InlineData("application/grpc; charset=utf-8")]
    public async Task Content_type_variants_of_application_grpc_are_accepted(string contentType)
    {
        var response = await _client.CallAsync(TestService.UnaryPath, GrpcWire.Frame(new EchoRequest { Message = "v" }), ("content-type", contentType));

        Assert.Equal(StatusCode.OK, response.Status);
    }

    [Fact]
    public async Task Non_POST_method_is_HTTP_405()
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, TestService.UnaryPath.TrimStart('/'))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(GrpcWire.Frame(new EchoRequest())),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Contains("POST", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task HTTP_1_1_request_is_refused_with_426_and_an_explanation()
    {
        using var http1 = _fixture.Server.CreateHttpClient(HttpVersion.Version11);
        using var request = new HttpRequestMessage(HttpMethod.Post, TestService.UnaryPath.TrimStart('/'))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(GrpcWire.Frame(new EchoRequest())),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        using var response = await http1.SendAsync(request);

        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
        Assert.Equal("13", Assert.Single(response.Headers.GetValues("grpc-status")));
        Assert.Contains("gRPC requires HTTP/2", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Compressed_message_in_an_unsupported_encoding_is_UNIMPLEMENTED_listing_supported_encodings()
    {
        var response = await _client.CallAsync(TestService.UnaryPath, GrpcWire.Frame([1, 2, 3], flag: 1), ("grpc-encoding", "snappy"));

        AssertStatus(response, StatusCode.Unimplemented, "Unsupported grpc-encoding 'snappy'");
        Assert.Equal("identity,gzip,deflate", response.Value("grpc-accept-encoding"));
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Uncompressed_message_with_an_unknown_encoding_header_is_accepted()
    {
        var response = await _client.CallAsync(TestService.UnaryPath, GrpcWire.Frame(new EchoRequest { Message = "plain" }), ("grpc-encoding", "snappy"));

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal("plain", EchoResponse.Parser.ParseFrom(Assert.Single(response.Frames).Payload).Message);
    }

    [Fact]
    public async Task Compressed_flag_without_an_encoding_header_is_INTERNAL()
    {
        var response = await _client.CallAsync(TestService.UnaryPath, GrpcWire.GzipFrame(new EchoRequest()));

        AssertStatus(response, StatusCode.Internal, "no grpc-encoding");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Corrupt_gzip_payload_is_INTERNAL()
    {
        var response = await _client.CallAsync(TestService.UnaryPath, GrpcWire.Frame([1, 2, 3, 4, 5], flag: 1), ("grpc-encoding", "gzip"));

        AssertStatus(response, StatusCode.Internal, "Failed to decompress gzip");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Non_gRPC_requests_pass_through_the_middleware()
    {
        using var response = await _client.GetAsync("health/page");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(response.Headers.Contains("grpc-status"));
    }

    private static void AssertStatus(GrpcResponse response, StatusCode code, string detailPart)
    {
        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.Equal(code, response.Status);
        Assert.Contains(detailPart, response.Message, StringComparison.Ordinal);
    }

    private async Task AssertStillServesAsync()
    {
        var response = await _client.UnaryAsync(TestService.UnaryPath, new EchoRequest { Message = "still here" });
        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal("still here", response.Single(EchoResponse.Parser).Message);
    }
}
