using System.IO.Compression;
using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Client;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ControlPlane.Grpc.Tests.Client;

/// <summary>Our client against hand-written HTTP/2 responses: every way a response can end, well or badly,
/// maps to the status the gRPC spec names.</summary>
public sealed class GrpcChannelResponseTests
{
    private static readonly EchoRequest Hello = new() { Message = "hello" };

    [Fact]
    public async Task Unary_sends_grpc_headers_and_returns_the_single_message()
    {
        IHeaderDictionary? seen = null;
        byte[]? body = null;
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            seen = ctx.Request.Headers;
            var frame = await RawGrpcServer.ReadFrameAsync(ctx.Request.BodyReader);
            body = frame!.Value.Payload;
            RawGrpcServer.StartGrpcResponse(ctx);
            ctx.Response.Headers["x-reply"] = "yes";
            await RawGrpcServer.WriteAsync(ctx, RawGrpcServer.Frame(new EchoResponse { Message = "hi back" }));
            RawGrpcServer.Trailers(ctx, 0);
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        var metadata = new Metadata().Add("x-tenant", "acme").Add("x-trace-bin", new byte[] { 0, 1, 2, 255 });
        using var call = channel.CreateCallInvoker().AsyncUnaryCall(DiagnosticsMethods.Echo, Hello, new CallOptions(metadata));
        var reply = await call;

        Assert.Equal("hi back", reply.Message);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.Equal("yes", (await call.ResponseHeadersAsync).GetValue("x-reply"));
        Assert.Equal(Hello, EchoRequest.Parser.ParseFrom(body));
        Assert.NotNull(seen);
        Assert.Equal("application/grpc", seen!.ContentType.ToString());
        Assert.Equal("trailers", seen["te"].ToString());
        Assert.Contains("gzip", seen["grpc-accept-encoding"].ToString(), StringComparison.Ordinal);
        Assert.Equal("acme", seen["x-tenant"].ToString());
        Assert.Equal(Convert.ToBase64String(new byte[] { 0, 1, 2, 255 }), seen["x-trace-bin"].ToString());
        Assert.False(seen.ContainsKey("grpc-timeout"));
    }

    [Fact]
    public async Task Trailers_only_error_decodes_the_percent_encoded_message_and_trailers()
    {
        const string Detail = "Überlastet – 过载 100%";
        await using var server = await RawGrpcServer.StartAsync(ctx =>
        {
            RawGrpcServer.StartGrpcResponse(ctx);
            ctx.Response.Headers["grpc-status"] = "14";
            ctx.Response.Headers["grpc-message"] = GrpcPercentEncoding.Encode(Detail);
            ctx.Response.Headers["retry-after-bin"] = Convert.ToBase64String(new byte[] { 9, 9 }).TrimEnd('=');
            return Task.CompletedTask;
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Equal(Detail, ex.Status.Detail);
        Assert.Equal(new byte[] { 9, 9 }, ex.Trailers.Get("retry-after-bin")!.ValueBytes);
    }

    [Fact]
    public async Task Trailers_only_ok_ends_a_server_stream_with_no_messages()
    {
        await using var server = await RawGrpcServer.StartAsync(ctx =>
        {
            RawGrpcServer.StartGrpcResponse(ctx);
            ctx.Response.Headers["grpc-status"] = "0";
            return Task.CompletedTask;
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        using var call = channel.CreateCallInvoker().ServerStreaming(DiagnosticsMethods.EchoStream, Hello);

        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Missing_grpc_status_on_a_200_response_is_internal()
    {
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            RawGrpcServer.StartGrpcResponse(ctx);
            await RawGrpcServer.WriteAsync(ctx, RawGrpcServer.Frame(new EchoResponse { Message = "x" }));
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello));

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.Contains("grpc-status", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(404, StatusCode.Unimplemented)]
    [InlineData(401, StatusCode.Unauthenticated)]
    [InlineData(403, StatusCode.PermissionDenied)]
    [InlineData(429, StatusCode.Unavailable)]
    [InlineData(400, StatusCode.Internal)]
    [InlineData(500, StatusCode.Unknown)]
    public async Task Http_error_without_grpc_status_maps_per_the_spec(int httpStatus, StatusCode expected)
    {
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            ctx.Response.StatusCode = httpStatus;
            ctx.Response.ContentType = "text/plain";
            await ctx.Response.WriteAsync("nope");
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello));

        Assert.Equal(expected, ex.StatusCode);
        Assert.Contains(httpStatus.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Grpc_status_in_a_non_200_response_wins_over_the_http_status()
    {
        await using var server = await RawGrpcServer.StartAsync(ctx =>
        {
            ctx.Response.StatusCode = 503;
            ctx.Response.ContentType = "application/grpc";
            ctx.Response.Headers["grpc-status"] = "8";
            ctx.Response.Headers["grpc-message"] = "slow down";
            return Task.CompletedTask;
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello));

        Assert.Equal(new Status(StatusCode.ResourceExhausted, "slow down"), ex.Status);
    }

    [Fact]
    public async Task A_200_response_with_a_non_grpc_content_type_is_unknown()
    {
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            ctx.Response.ContentType = "text/html";
            await ctx.Response.WriteAsync("<html>proxy error page</html>");
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello));

        Assert.Equal(StatusCode.Unknown, ex.StatusCode);
        Assert.Contains("text/html", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_response_frame_is_internal()
    {
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            RawGrpcServer.StartGrpcResponse(ctx);
            var frame = RawGrpcServer.Frame(new EchoResponse { Message = "cut short" });
            await RawGrpcServer.WriteAsync(ctx, frame[..^3]);
            RawGrpcServer.Trailers(ctx, 0);
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello));

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.Contains("Incomplete", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_oversized_response_is_resource_exhausted_and_the_stream_is_reset()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            ctx.RequestAborted.Register(() => aborted.TrySetResult());
            RawGrpcServer.StartGrpcResponse(ctx);
            // Announce 1 MiB but send only the header: the client must refuse from the prefix alone.
            await RawGrpcServer.WriteAsync(ctx, [0, 0, 0x10, 0, 0]);
            await aborted.Task;
        });
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 1024 });

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        await aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_compressed_response_larger_than_the_limit_after_inflating_is_resource_exhausted()
    {
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            RawGrpcServer.StartGrpcResponse(ctx);
            ctx.Response.Headers["grpc-encoding"] = "gzip";
            var big = new EchoResponse { Payload = ByteString.CopyFrom(new byte[64 * 1024]) }.ToByteArray();
            await RawGrpcServer.WriteAsync(ctx, RawGrpcServer.Frame(Gzip(big), compressed: true));
            RawGrpcServer.Trailers(ctx, 0);
        });
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 16 * 1024 });

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task Two_messages_for_a_unary_call_are_internal()
    {
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            RawGrpcServer.StartGrpcResponse(ctx);
            await RawGrpcServer.WriteAsync(ctx, RawGrpcServer.Frame(new EchoResponse { Message = "one" }));
            await RawGrpcServer.WriteAsync(ctx, RawGrpcServer.Frame(new EchoResponse { Message = "two" }));
            RawGrpcServer.Trailers(ctx, 0);
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello));

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.Contains("More than one", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_ok_without_a_message_for_a_unary_call_is_internal()
    {
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            RawGrpcServer.StartGrpcResponse(ctx);
            await ctx.Response.StartAsync();
            RawGrpcServer.Trailers(ctx, 0);
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello));

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
    }

    [Fact]
    public async Task Garbage_response_bytes_are_internal()
    {
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            RawGrpcServer.StartGrpcResponse(ctx);
            await RawGrpcServer.WriteAsync(ctx, RawGrpcServer.Frame(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }));
            RawGrpcServer.Trailers(ctx, 0);
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello));

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
    }

    [Theory]
    [InlineData(8, StatusCode.Cancelled)]
    [InlineData(7, StatusCode.Unavailable)]
    [InlineData(2, StatusCode.Internal)]
    [InlineData(11, StatusCode.ResourceExhausted)]
    public async Task A_server_reset_of_the_stream_maps_its_error_code(int resetCode, StatusCode expected)
    {
        var firstRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            RawGrpcServer.StartGrpcResponse(ctx);
            await RawGrpcServer.WriteAsync(ctx, RawGrpcServer.Frame(new EchoResponse { Message = "first" }));
            await firstRead.Task;
            ctx.Features.Get<IHttpResetFeature>()!.Reset(resetCode);
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        using var call = channel.CreateCallInvoker().ServerStreaming(DiagnosticsMethods.EchoStream, Hello);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        firstRead.SetResult();
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(expected, ex.StatusCode);
        Assert.Equal(expected, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Server_streaming_reads_every_message_then_the_trailers()
    {
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            RawGrpcServer.StartGrpcResponse(ctx);
            ctx.Response.Headers["x-phase"] = "headers";
            for (var i = 1; i <= 3; i++)
            {
                await RawGrpcServer.WriteAsync(ctx, RawGrpcServer.Frame(new EchoResponse { Sequence = i }));
            }

            ctx.Response.AppendTrailer("x-phase", "trailers");
            RawGrpcServer.Trailers(ctx, 0);
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        using var call = channel.CreateCallInvoker().ServerStreaming(DiagnosticsMethods.EchoStream, Hello);
        Assert.Throws<InvalidOperationException>(() => call.GetStatus());
        var sequences = new List<int>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            sequences.Add(call.ResponseStream.Current.Sequence);
        }

        Assert.Equal([1, 2, 3], sequences);
        Assert.Equal("headers", (await call.ResponseHeadersAsync).GetValue("x-phase"));
        Assert.Equal("trailers", call.GetTrailers().GetValue("x-phase"));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Server_streaming_error_after_messages_surfaces_the_trailer_status()
    {
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            RawGrpcServer.StartGrpcResponse(ctx);
            await RawGrpcServer.WriteAsync(ctx, RawGrpcServer.Frame(new EchoResponse { Sequence = 1 }));
            RawGrpcServer.Trailers(ctx, 9, "precondition%20failed");
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        using var call = channel.CreateCallInvoker().ServerStreaming(DiagnosticsMethods.EchoStream, Hello);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(new Status(StatusCode.FailedPrecondition, "precondition failed"), ex.Status);
    }

    [Fact]
    public async Task Client_streaming_sends_each_message_and_half_closes()
    {
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            var parts = new List<string>();
            while (await RawGrpcServer.ReadFrameAsync(ctx.Request.BodyReader) is { } frame)
            {
                parts.Add(EchoRequest.Parser.ParseFrom(frame.Payload).Message);
            }

            RawGrpcServer.StartGrpcResponse(ctx);
            await RawGrpcServer.WriteAsync(ctx, RawGrpcServer.Frame(new EchoResponse { Message = string.Join("+", parts), Count = parts.Count }));
            RawGrpcServer.Trailers(ctx, 0);
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        using var call = channel.CreateCallInvoker().ClientStreaming(DiagnosticsMethods.Collect);
        foreach (var part in new[] { "a", "b", "c" })
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Message = part });
        }

        await call.RequestStream.CompleteAsync();
        var reply = await call;

        Assert.Equal("a+b+c", reply.Message);
        Assert.Equal(3, reply.Count);
        await Assert.ThrowsAsync<InvalidOperationException>(() => call.RequestStream.WriteAsync(new EchoRequest()));
    }

    [Fact]
    public async Task Duplex_answers_arrive_before_the_request_stream_ends()
    {
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            RawGrpcServer.StartGrpcResponse(ctx);
            await ctx.Response.StartAsync();
            var n = 0;
            while (await RawGrpcServer.ReadFrameAsync(ctx.Request.BodyReader) is { } frame)
            {
                var request = EchoRequest.Parser.ParseFrom(frame.Payload);
                await RawGrpcServer.WriteAsync(ctx, RawGrpcServer.Frame(new EchoResponse { Message = request.Message.ToUpperInvariant(), Sequence = ++n }));
            }

            RawGrpcServer.Trailers(ctx, 0);
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        using var call = channel.CreateCallInvoker().DuplexStreaming(DiagnosticsMethods.Chat);
        // Each answer is read before the next request is written: this only finishes if both directions flow at once.
        foreach (var word in new[] { "ping", "pong", "done" })
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Message = word });
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(word.ToUpperInvariant(), call.ResponseStream.Current.Message);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task A_second_write_while_one_is_pending_is_refused()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            // Reads nothing until released: the client's 2 MiB write stalls on HTTP/2 flow control (Kestrel's windows are smaller).
            await release.Task;
            while (await RawGrpcServer.ReadFrameAsync(ctx.Request.BodyReader) is not null)
            {
            }

            RawGrpcServer.StartGrpcResponse(ctx);
            await RawGrpcServer.WriteAsync(ctx, RawGrpcServer.Frame(new EchoResponse()));
            RawGrpcServer.Trailers(ctx, 0);
        });
        using var channel = GrpcChannel.ForAddress(server.Address);
        using var call = channel.CreateCallInvoker().ClientStreaming(DiagnosticsMethods.Collect);

        var big = call.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[2 * 1024 * 1024]) });
        await Assert.ThrowsAsync<InvalidOperationException>(() => call.RequestStream.WriteAsync(new EchoRequest()));
        await Assert.ThrowsAsync<InvalidOperationException>(() => call.RequestStream.CompleteAsync());
        Assert.False(big.IsCompleted);
        release.SetResult();
        await big;
        await call.RequestStream.CompleteAsync();

        Assert.NotNull(await call);
    }

    [Fact]
    public async Task Gzip_compresses_requests_and_inflates_responses()
    {
        string? requestEncoding = null;
        bool? requestFlag = null;
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            requestEncoding = ctx.Request.Headers["grpc-encoding"].ToString();
            var frame = (await RawGrpcServer.ReadFrameAsync(ctx.Request.BodyReader))!.Value;
            requestFlag = frame.Compressed;
            var request = EchoRequest.Parser.ParseFrom(Gunzip(frame.Payload));
            RawGrpcServer.StartGrpcResponse(ctx);
            ctx.Response.Headers["grpc-encoding"] = "gzip";
            var reply = new EchoResponse { Message = request.Message + "!" }.ToByteArray();
            await RawGrpcServer.WriteAsync(ctx, RawGrpcServer.Frame(Gzip(reply), compressed: true));
            RawGrpcServer.Trailers(ctx, 0);
        });
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { RequestCompression = "gzip" });

        var reply = await channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, new EchoRequest { Message = new string('z', 500) });

        Assert.Equal(new string('z', 500) + "!", reply.Message);
        Assert.Equal("gzip", requestEncoding);
        Assert.True(requestFlag);
    }

    [Fact]
    public async Task Per_call_identity_compression_overrides_the_channel()
    {
        bool? requestFlag = null;
        await using var server = await RawGrpcServer.StartAsync(async ctx =>
        {
            requestFlag = (await RawGrpcServer.ReadFrameAsync(ctx.Request.BodyReader))!.Value.Compressed;
            RawGrpcServer.StartGrpcResponse(ctx);
            await RawGrpcServer.WriteAsync(ctx, RawGrpcServer.Frame(new EchoResponse()));
            RawGrpcServer.Trailers(ctx, 0);
        });
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { RequestCompression = "gzip" });

        await channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello, new CallOptions { RequestCompression = "identity" });

        Assert.False(requestFlag);
    }

    [Fact]
    public async Task A_request_larger_than_the_send_limit_fails_locally()
    {
        var calls = 0;
        await using var server = await RawGrpcServer.StartAsync(ctx =>
        {
            Interlocked.Increment(ref calls);
            return Task.CompletedTask;
        });
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { MaxSendMessageSize = 100 });

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, new EchoRequest { Payload = ByteString.CopyFrom(new byte[200]) }));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task Connection_refused_is_unavailable()
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{ControlPlane.Testing.FreePort.Next()}");

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().UnaryAsync(DiagnosticsMethods.Echo, Hello));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
    }

    internal static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest))
        {
            gz.Write(data);
        }

        return output.ToArray();
    }

    internal static byte[] Gunzip(byte[] data)
    {
        using var input = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

}
