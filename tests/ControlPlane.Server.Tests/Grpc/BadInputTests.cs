using System.Net;
using System.Net.Sockets;
using System.Text;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Server.Tests.Support;
using Google.Protobuf;

namespace ControlPlane.Server.Tests.Grpc;

/// <summary>Bad input against a real node (Grpc.AspNetCore 2.85 on Kestrel h2c) sent by a raw HTTP/2 HttpClient (prior
/// knowledge), a raw socket or Grpc.Net.Client: each gets the status Grpc.AspNetCore gives it (asserted as observed,
/// messages included, since detailed errors are off), and the node still answers a good Route afterwards.</summary>
public sealed class BadInputTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private const string RoutePath = "/controlplane.v1.Routing/Route";

    private ControlPlaneNode Node => fixture.Node;

    private static byte[] GoodRoute => GrpcWire.Frame(new RouteRequest { WorkloadClass = "customer_chat", EstimatedInputTokens = 10, MaxOutputTokens = 10 });

    [Theory]
    [InlineData("/controlplane.v1.Routing/NoSuchMethod")]
    [InlineData("/grpc.health.v1.Health/Nope")]
    public async Task Unknown_method_of_a_known_service_is_UNIMPLEMENTED_trailers_only(string path)
    {
        var response = await Node.Raw.CallAsync(path, GoodRoute);

        AssertStatus(response, StatusCode.Unimplemented, "Method is unimplemented.");
        Assert.Empty(response.Body);
        await Node.AssertServingAsync();
    }

    [Theory]
    [InlineData("/no.such.Service/Call")]
    [InlineData("/controlplane.v1.Diagnostics/Echo")]
    public async Task Unknown_service_is_UNIMPLEMENTED_trailers_only(string path)
    {
        var response = await Node.Raw.CallAsync(path, GoodRoute);

        AssertStatus(response, StatusCode.Unimplemented, "Service is unimplemented.");
        await Node.AssertServingAsync();
    }

    /// <summary>ASP.NET Core endpoint routing matches paths case-insensitively, so Grpc.AspNetCore serves a method whose
    /// service or method name differs from the proto only in case (the gRPC spec has them case-sensitive).</summary>
    [Theory]
    [InlineData("/controlplane.v1.Routing/route")]
    [InlineData("/controlplane.v1.routing/Route")]
    public async Task A_path_differing_only_in_case_is_served(string path)
    {
        var response = await Node.Raw.CallAsync(path, GoodRoute);

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.NotEmpty(response.Single(RouteDecision.Parser).EndpointId);
    }

    /// <summary>Grpc.AspNetCore does not map a request it cannot deserialize to INTERNAL (as gRPC C-core does): the
    /// parser's exception surfaces as an unhandled handler error, UNKNOWN "Exception was thrown by handler."</summary>
    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F })]
    [InlineData(new byte[] { 0x0A, 0xFF, 0xFF, 0x01 })]
    [InlineData(new byte[] { 0x0A, 0x05, 0x61 })]
    public async Task Malformed_protobuf_is_UNKNOWN(byte[] payload)
    {
        var response = await Node.Raw.CallAsync(RoutePath, GrpcWire.Frame(payload));

        AssertStatus(response, StatusCode.Unknown, "Exception was thrown by handler.");
        await Node.AssertServingAsync();
    }

    [Fact]
    public async Task A_message_over_4_MB_is_RESOURCE_EXHAUSTED()
    {
        var response = await Node.Raw.CallAsync(RoutePath, GrpcWire.Frame(new byte[(4 * 1024 * 1024) + 1]));

        AssertStatus(response, StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size.");
        await Node.AssertServingAsync();
    }

    [Fact]
    public async Task A_message_over_4_MB_from_Grpc_Net_Client_is_RESOURCE_EXHAUSTED()
    {
        var huge = new RouteRequest { WorkloadClass = "customer_chat", RequestId = new string('x', (4 * 1024 * 1024) + 16) };

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Node.Routing.RouteAsync(huge, deadline: DateTime.UtcNow.AddSeconds(30)));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        await Node.AssertServingAsync();
    }

    [Fact]
    public async Task A_length_prefix_claiming_100_MB_is_RESOURCE_EXHAUSTED_before_the_body_arrives()
    {
        // Only 3 bytes follow and the request stays open: the answer can only come from the 5-byte header.
        var content = new StreamingContent();
        content.Write(GrpcWire.Frame([1, 2, 3], declaredLength: 100 * 1024 * 1024));
        using var request = GrpcWire.Request(RoutePath, content);
        using var response = await Node.Raw.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var result = await GrpcResponse.ReadAsync(response);
        content.Complete();

        AssertStatus(result, StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size.");
        await Node.AssertServingAsync();
    }

    public static TheoryData<string, byte[]> TruncatedBodies => new()
    {
        { "length prefix larger than the body", GrpcWire.Frame([1, 2, 3], declaredLength: 10) },
        { "valid request cut short", GoodRoute[..^2] },
        { "truncated 5-byte header", [0, 0, 0] },
        { "no message at all", [] },
    };

    [Theory]
    [MemberData(nameof(TruncatedBodies))]
    public async Task A_truncated_frame_is_INTERNAL_Incomplete_message(string name, byte[] body)
    {
        var response = await Node.Raw.CallAsync(RoutePath, body);

        Assert.True(response.Status == StatusCode.Internal, $"{name}: {response.Status} {response.Message}");
        AssertStatus(response, StatusCode.Internal, "Incomplete message.");
        await Node.AssertServingAsync();
    }

    [Fact]
    public async Task Two_messages_for_a_unary_method_are_INTERNAL()
    {
        var response = await Node.Raw.CallAsync(RoutePath, [.. GoodRoute, .. GoodRoute]);

        AssertStatus(response, StatusCode.Internal, "Additional data after the message received.");
        await Node.AssertServingAsync();
    }

    [Fact]
    public async Task Compressed_flag_without_grpc_encoding_is_INTERNAL()
    {
        var response = await Node.Raw.CallAsync(RoutePath, GrpcWire.GzipFrame(new RouteRequest { WorkloadClass = "customer_chat" }));

        AssertStatus(response, StatusCode.Internal, "Request did not include grpc-encoding value with compressed message.");
        await Node.AssertServingAsync();
    }

    [Fact]
    public async Task Compressed_message_in_an_unsupported_encoding_is_UNIMPLEMENTED_naming_the_supported_ones()
    {
        var response = await Node.Raw.CallAsync(RoutePath, GrpcWire.Frame([1, 2, 3], flag: 1), ("grpc-encoding", "snappy"));

        AssertStatus(response, StatusCode.Unimplemented, "Unsupported grpc-encoding value 'snappy'. Supported encodings: identity, gzip, deflate");
        await Node.AssertServingAsync();
    }

    [Fact]
    public async Task Gzip_compressed_request_with_grpc_encoding_is_served()
    {
        var response = await Node.Raw.CallAsync(RoutePath, GrpcWire.GzipFrame(new RouteRequest { WorkloadClass = "customer_chat", MaxOutputTokens = 5 }),
            ("grpc-encoding", "gzip"));

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.NotEmpty(response.Single(RouteDecision.Parser).EndpointId);
    }

    /// <summary>An invalid compressed flag (neither 0 nor 1) and a corrupt gzip payload both surface from Grpc.AspNetCore
    /// as UNKNOWN "Exception was thrown by handler." (its reader throws outside the status mapping).</summary>
    public static TheoryData<string, byte[], string?> BadCompression => new()
    {
        { "compressed flag 7", GrpcWire.Frame(new RouteRequest().ToByteArray(), flag: 7), null },
        { "corrupt gzip", GrpcWire.Frame([1, 2, 3, 4, 5], flag: 1), "gzip" },
    };

    [Theory]
    [MemberData(nameof(BadCompression))]
    public async Task Bad_compressed_frames_are_UNKNOWN(string name, byte[] body, string? encoding)
    {
        var response = encoding is null ? await Node.Raw.CallAsync(RoutePath, body) : await Node.Raw.CallAsync(RoutePath, body, ("grpc-encoding", encoding));

        Assert.True(response.Status == StatusCode.Unknown, $"{name}: {response.Status} {response.Message}");
        AssertStatus(response, StatusCode.Unknown, "Exception was thrown by handler.");
        await Node.AssertServingAsync();
    }

    [Fact]
    public async Task A_non_gRPC_content_type_on_the_gRPC_port_is_HTTP_404()
    {
        using var request = GrpcWire.Request(RoutePath, GoodRoute, ("content-type", "application/json"));

        using var response = await Node.Raw.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await Node.AssertServingAsync();
    }

    [Fact]
    public async Task HTTP_1_1_request_on_the_h2c_port_is_refused_with_400_and_the_node_keeps_serving()
    {
        using var http1 = new HttpClient { BaseAddress = Node.GrpcAddress };
        using var request = GrpcWire.Request(RoutePath, GoodRoute);
        request.Version = HttpVersion.Version11;

        using var response = await http1.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(response.Headers.ConnectionClose);
        Assert.Equal("An HTTP/1.x request was sent to an HTTP/2 only endpoint.", await response.Content.ReadAsStringAsync());
        await Node.AssertServingAsync();
    }

    [Theory]
    [InlineData("POST /controlplane.v1.Routing/Route HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("PRI * HTTP/1.1\r\n\r\n")]
    public async Task HTTP_1_1_over_a_raw_socket_gets_400_and_the_connection_is_closed(string text)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(Node.GrpcAddress.Host, Node.GrpcAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(text));

        var answer = await ReadToEndAsync(stream);

        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", answer, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", answer, StringComparison.Ordinal);
        Assert.EndsWith("An HTTP/1.x request was sent to an HTTP/2 only endpoint.", answer, StringComparison.Ordinal);
        await Node.AssertServingAsync();
    }

    [Fact]
    public async Task A_connection_closed_before_any_byte_is_harmless()
    {
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(Node.GrpcAddress.Host, Node.GrpcAddress.Port);
        }

        await Node.AssertServingAsync();
    }

    /// <summary>A deadline that has passed when Route runs is DEADLINE_EXCEEDED and reserves nothing. (Grpc.AspNetCore
    /// reads grpc-timeout in 100 ns ticks: "0n" and "1n" round to zero, which it treats as no deadline at all.)</summary>
    [Theory]
    [InlineData("200n")]
    [InlineData("1u")]
    public async Task A_deadline_already_expired_is_DEADLINE_EXCEEDED(string timeout)
    {
        var response = await Node.Raw.CallAsync(RoutePath, GoodRoute, ("grpc-timeout", timeout));

        AssertStatus(response, StatusCode.DeadlineExceeded, "Deadline Exceeded");
        await Node.AssertServingAsync();
    }

    [Fact]
    public async Task Grpc_Net_Client_with_a_past_deadline_gets_DEADLINE_EXCEEDED()
    {
        var request = new RouteRequest { WorkloadClass = "customer_chat" };

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Node.Routing.RouteAsync(request, deadline: DateTime.UtcNow.AddSeconds(-1)));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        await Node.AssertServingAsync();
    }

    [Theory]
    [InlineData("0n")]
    [InlineData("1n")]
    [InlineData("soon")]
    public async Task A_zero_or_malformed_grpc_timeout_is_ignored_by_Grpc_AspNetCore(string timeout)
    {
        var response = await Node.Raw.CallAsync(RoutePath, GoodRoute, ("grpc-timeout", timeout));

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.NotEmpty(response.Single(RouteDecision.Parser).EndpointId);
    }

    [Fact]
    public async Task Route_with_an_unknown_class_is_NOT_FOUND_naming_the_field()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Node.RouteAsync("poetry"));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("workload_class: unknown workload class 'poetry'", error.Status.Detail);
        await Node.AssertServingAsync();
    }

    [Theory]
    [InlineData(-10, 500, "estimated_input_tokens:")]
    [InlineData(1000, -1, "max_output_tokens:")]
    public async Task Route_with_negative_tokens_is_INVALID_ARGUMENT_naming_the_field(long input, long output, string field)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Node.RouteAsync("customer_chat", input, output));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith(field, error.Status.Detail, StringComparison.Ordinal);
        await Node.AssertServingAsync();
    }

    [Fact]
    public async Task Route_without_a_class_is_INVALID_ARGUMENT()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Node.RouteAsync(""));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("workload_class:", error.Status.Detail, StringComparison.Ordinal);
        await Node.AssertServingAsync();
    }

    private static void AssertStatus(GrpcResponse response, StatusCode code, string message)
    {
        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.Equal("application/grpc", response.ContentHeaders.ContentType?.MediaType);
        Assert.True(response.TrailersOnly, "expected a Trailers-Only response");
        Assert.Equal(code, response.Status);
        Assert.Equal(message, response.Message);
    }

    private static async Task<string> ReadToEndAsync(NetworkStream stream)
    {
        using var output = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await stream.CopyToAsync(output, timeout.Token);
        }
        catch (IOException)
        {
            // A reset after the answer still leaves what was read.
        }

        return Encoding.ASCII.GetString(output.ToArray());
    }
}
