using System.Net;
using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Tests.Support;

namespace ControlPlane.Grpc.Tests.Server;

public sealed class ServerCallTests : IClassFixture<TestServerFixture>
{
    private readonly TestServerFixture _fixture;
    private readonly HttpClient _client;

    public ServerCallTests(TestServerFixture fixture)
    {
        _fixture = fixture;
        _fixture.Service.Reset();
        _client = fixture.Server.Client;
    }

    [Fact]
    public async Task Unary_call_answers_headers_one_message_and_OK_trailers()
    {
        var response = await _client.UnaryAsync(TestService.UnaryPath, new EchoRequest { Message = "hello" });

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.Equal("application/grpc", response.ContentHeaders.ContentType?.MediaType);
        Assert.False(response.TrailersOnly);
        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal("hello", response.Single(EchoResponse.Parser).Message);
        Assert.Equal("identity,gzip,deflate", string.Join(",", response.Headers.GetValues("grpc-accept-encoding")));
    }

    [Fact]
    public async Task Server_streaming_sends_every_message_then_the_status()
    {
        var response = await _client.UnaryAsync(TestService.ServerStreamingPath, new EchoRequest { Message = "s", Count = 3 });

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal([0, 1, 2], response.Payloads.Select(p => EchoResponse.Parser.ParseFrom(p).Sequence));
    }

    [Fact]
    public async Task Server_streaming_with_no_messages_is_Trailers_Only_OK()
    {
        var response = await _client.UnaryAsync(TestService.ServerStreamingPath, new EchoRequest { Count = 0 });

        Assert.True(response.TrailersOnly);
        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Empty(response.Body);
    }

    [Fact]
    public async Task Client_streaming_reads_every_request_message()
    {
        var body = new[] { "a", "b", "c" }.SelectMany(m => GrpcWire.Frame(new EchoRequest { Message = m })).ToArray();

        var response = await _client.CallAsync(TestService.ClientStreamingPath, body);

        Assert.Equal(StatusCode.OK, response.Status);
        var reply = response.Single(EchoResponse.Parser);
        Assert.Equal("abc", reply.Message);
        Assert.Equal(3, reply.Count);
    }

    [Fact]
    public async Task Duplex_streaming_answers_each_request_before_the_next_is_sent()
    {
        var content = new StreamingContent();
        using var request = GrpcWire.Request(TestService.DuplexPath, content);
        using var response = await SendStreamingAsync(request, content, GrpcWire.Frame(new EchoRequest { Message = "one" }));
        var frames = new GrpcFrameReader(await response.Content.ReadAsStreamAsync());

        Assert.Equal("one", EchoResponse.Parser.ParseFrom(await frames.ReadAsync()).Message);
        content.Write(GrpcWire.Frame(new EchoRequest { Message = "two" }));
        var second = EchoResponse.Parser.ParseFrom(await frames.ReadAsync());
        Assert.Equal(("two", 1), (second.Message, second.Sequence));
        content.Complete();
        Assert.Null(await frames.ReadAsync());
        Assert.Equal("0", Assert.Single(response.TrailingHeaders.GetValues("grpc-status")));
    }

    [Fact]
    public async Task Non_ASCII_status_message_is_percent_encoded_on_the_wire_and_round_trips()
    {
        const string detail = "endpoint « gpt-4o » introuvable: 100% ✓ 東京";
        _fixture.Service.Unary = (_, _) => throw new RpcException(StatusCode.NotFound, detail);

        var response = await _client.UnaryAsync(TestService.UnaryPath, new EchoRequest());

        Assert.Equal(StatusCode.NotFound, response.Status);
        Assert.True(response.RawMessage!.All(c => c is >= ' ' and <= '~'));
        Assert.Contains("%C2%AB", response.RawMessage, StringComparison.Ordinal);
        Assert.Contains("100%25", response.RawMessage, StringComparison.Ordinal);
        Assert.Equal(detail, response.Message);
    }

    [Fact]
    public async Task Error_before_any_message_is_Trailers_Only()
    {
        _fixture.Service.Unary = (_, _) => throw new RpcException(StatusCode.PermissionDenied, "no");

        var response = await _client.UnaryAsync(TestService.UnaryPath, new EchoRequest());

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.True(response.TrailersOnly);
        Assert.Empty(response.Trailers);
        Assert.Empty(response.Body);
        Assert.Equal(StatusCode.PermissionDenied, response.Status);
        Assert.Equal("no", response.Message);
    }

    [Fact]
    public async Task Error_after_messages_goes_in_trailers_with_custom_trailers()
    {
        _fixture.Service.ServerStreaming = async (request, responses, context) =>
        {
            await responses.WriteAsync(new EchoResponse { Message = "first" });
            context.ResponseTrailers.Add("x-context", "c");
            throw new RpcException(new Status(StatusCode.Aborted, "stopped"), new Metadata().Add("x-exception", "e"));
        };

        var response = await _client.UnaryAsync(TestService.ServerStreamingPath, new EchoRequest());

        Assert.False(response.TrailersOnly);
        Assert.Single(response.Frames);
        Assert.Equal(StatusCode.Aborted, response.Status);
        Assert.Equal("c", Assert.Single(response.Trailers.GetValues("x-context")));
        Assert.Equal("e", Assert.Single(response.Trailers.GetValues("x-exception")));
    }

    [Fact]
    public async Task Status_set_on_the_context_is_sent_when_the_handler_returns()
    {
        _fixture.Service.ServerStreaming = (_, _, context) =>
        {
            context.Status = new Status(StatusCode.FailedPrecondition, "drained");
            return Task.CompletedTask;
        };

        var response = await _client.UnaryAsync(TestService.ServerStreamingPath, new EchoRequest());

        Assert.Equal((StatusCode.FailedPrecondition, "drained"), (response.Status!.Value, response.Message!));
    }

    [Fact]
    public async Task Reserved_names_in_application_trailers_cannot_override_the_status()
    {
        _fixture.Service.Unary = (_, context) =>
        {
            context.ResponseTrailers.Add("grpc-status", "0");
            throw new RpcException(StatusCode.Internal, "real");
        };

        var response = await _client.UnaryAsync(TestService.UnaryPath, new EchoRequest());

        Assert.Equal("13", Assert.Single(response.Headers.GetValues("grpc-status")));
    }

    [Fact]
    public async Task Context_exposes_method_peer_and_authority()
    {
        string? seen = null;
        _fixture.Service.Unary = (_, context) =>
        {
            seen = $"{context.Method}|{context.Peer.StartsWith("ipv4:127.0.0.1:", StringComparison.Ordinal)}|{context.Host}|{context.Deadline == DateTime.MaxValue}";
            return Task.FromResult(new EchoResponse());
        };

        await _client.UnaryAsync(TestService.UnaryPath, new EchoRequest());

        Assert.Equal($"{TestService.UnaryPath}|True|{_fixture.Server.Address.Authority}|True", seen);
    }

    [Fact]
    public async Task Handler_exception_is_UNKNOWN_with_a_generic_message()
    {
        _fixture.Service.Unary = (_, _) => throw new InvalidOperationException("secret connection string xyz");

        var response = await _client.UnaryAsync(TestService.UnaryPath, new EchoRequest());

        Assert.Equal(StatusCode.Unknown, response.Status);
        Assert.Equal(ServerCallContext.GenericHandlerError, response.Message);
        Assert.DoesNotContain("secret", response.RawMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", string.Concat(response.Headers.Select(h => string.Join(",", h.Value))), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handler_returning_null_is_UNKNOWN()
    {
        _fixture.Service.Unary = (_, _) => Task.FromResult<EchoResponse>(null!);

        var response = await _client.UnaryAsync(TestService.UnaryPath, new EchoRequest());

        Assert.Equal(StatusCode.Unknown, response.Status);
    }

    [Fact]
    public async Task Response_headers_written_early_are_sent_before_messages()
    {
        _fixture.Service.Unary = async (request, context) =>
        {
            await context.WriteResponseHeadersAsync(new Metadata().Add("x-early", "yes"));
            await Assert.ThrowsAsync<InvalidOperationException>(() => context.WriteResponseHeadersAsync(new Metadata()));
            return new EchoResponse { Message = request.Message };
        };

        var response = await _client.UnaryAsync(TestService.UnaryPath, new EchoRequest { Message = "m" });

        Assert.Equal("yes", Assert.Single(response.Headers.GetValues("x-early")));
        Assert.Equal("m", response.Single(EchoResponse.Parser).Message);
        Assert.Equal(StatusCode.OK, response.Status);
    }

    [Fact]
    public async Task Many_concurrent_calls_on_one_connection_each_get_their_own_answer()
    {
        var calls = Enumerable.Range(0, 50).Select(i => _client.UnaryAsync(TestService.UnaryPath, new EchoRequest { Message = $"m{i}" }));

        var responses = await Task.WhenAll(calls);

        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"m{i}"), responses.Select(r => r.Single(EchoResponse.Parser).Message));
    }

    private async Task<HttpResponseMessage> SendStreamingAsync(HttpRequestMessage request, StreamingContent content, byte[] first)
    {
        content.Write(first);
        return await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }
}
