using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Health;
using ControlPlane.Testing;
using Google.Protobuf;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace ControlPlane.Grpc.Tests.EndToEnd;

/// <summary>Our client against our server over real sockets: every call shape and the failure paths.</summary>
public sealed class ClientServerTests : IClassFixture<EndToEndFixture>, IDisposable
{
    private const string NonAscii = "Überlastet – 过载";
    private readonly EndToEndFixture _fixture;
    private readonly GrpcChannel _channel;
    private readonly CallInvoker _invoker;

    public ClientServerTests(EndToEndFixture fixture)
    {
        _fixture = fixture;
        fixture.Service.Reset();
        _channel = GrpcChannel.ForAddress(fixture.Server.Address);
        _invoker = _channel.CreateCallInvoker();
    }

    public void Dispose() => _channel.Dispose();

    [Fact]
    public async Task Unary_round_trip()
    {
        var payload = ByteString.CopyFrom(Enumerable.Range(0, 300).Select(i => (byte)i).ToArray());

        var reply = await _invoker.UnaryAsync(TestMethods.Unary, new EchoRequest { Message = "hello", Payload = payload });

        Assert.Equal("hello", reply.Message);
        Assert.Equal(payload, reply.Payload);
    }

    [Fact]
    public async Task Unary_with_a_one_mebibyte_message_round_trips()
    {
        var payload = ByteString.CopyFrom(new byte[1024 * 1024]);

        var reply = await _invoker.UnaryAsync(TestMethods.Unary, new EchoRequest { Payload = payload });

        Assert.Equal(payload.Length, reply.Payload.Length);
    }

    [Fact]
    public async Task Concurrent_unary_calls_share_the_connection()
    {
        var calls = Enumerable.Range(0, 200).Select(i => _invoker.UnaryAsync(TestMethods.Unary, new EchoRequest { Message = $"m{i}" }));

        var replies = await Task.WhenAll(calls);

        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"m{i}"), replies.Select(r => r.Message));
    }

    [Fact]
    public async Task Server_streaming_round_trip()
    {
        using var call = _invoker.ServerStreaming(TestMethods.ServerStreaming, new EchoRequest { Message = "tick", Count = 50 });

        var sequences = new List<int>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            sequences.Add(call.ResponseStream.Current.Sequence);
        }

        Assert.Equal(Enumerable.Range(0, 50), sequences);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Client_streaming_round_trip()
    {
        using var call = _invoker.ClientStreaming(TestMethods.ClientStreaming);
        foreach (var part in new[] { "a", "b", "c", "d" })
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Message = part });
        }

        await call.RequestStream.CompleteAsync();
        var reply = await call;

        Assert.Equal("abcd", reply.Message);
        Assert.Equal(4, reply.Count);
    }

    [Fact]
    public async Task Duplex_round_trip_in_lockstep()
    {
        using var call = _invoker.DuplexStreaming(TestMethods.Duplex);
        for (var i = 0; i < 20; i++)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Message = $"w{i}" });
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal($"w{i}", call.ResponseStream.Current.Message);
            Assert.Equal(i, call.ResponseStream.Current.Sequence);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
    }

    [Fact]
    public async Task Client_streaming_rejected_early_reports_the_server_status()
    {
        _fixture.Service.ClientStreaming = (_, _) => throw new RpcException(StatusCode.PermissionDenied, "no uploads");
        using var call = _invoker.ClientStreaming(TestMethods.ClientStreaming);

        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(new Status(StatusCode.PermissionDenied, "no uploads"), ex.Status);
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => call.RequestStream.WriteAsync(new EchoRequest()))).StatusCode);
    }

    [Fact]
    public async Task Deadline_exceeded_cancels_the_server_handler()
    {
        var clock = new FakeTimeProvider();
        var handlerCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlerStarted = new TaskCompletionSource<DateTime>(TaskCreationOptions.RunContinuationsAsynchronously);
        _fixture.Service.Unary = async (_, context) =>
        {
            context.CancellationToken.Register(() => handlerCancelled.TrySetResult());
            handlerStarted.TrySetResult(context.Deadline);
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
            return new EchoResponse();
        };
        using var channel = GrpcChannel.ForAddress(_fixture.Server.Address, new GrpcChannelOptions { TimeProvider = clock });

        var call = channel.CreateCallInvoker().UnaryAsync(TestMethods.Unary, new EchoRequest(),
            new CallOptions(deadline: clock.GetUtcNow().UtcDateTime.AddMinutes(1)));
        var serverDeadline = await handlerStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(StatusCode.DeadlineExceeded, (await Assert.ThrowsAsync<RpcException>(() => call)).StatusCode);
        await handlerCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotEqual(DateTime.MaxValue, serverDeadline);
    }

    [Fact]
    public async Task Non_ok_status_with_a_non_ascii_message_and_trailers_reaches_the_client()
    {
        _fixture.Service.Unary = (_, context) =>
        {
            context.ResponseTrailers.Add("retry-after-ms", "250");
            throw new RpcException(StatusCode.Unavailable, NonAscii);
        };

        var ex = await Assert.ThrowsAsync<RpcException>(() => _invoker.UnaryAsync(TestMethods.Unary, new EchoRequest()));

        Assert.Equal(new Status(StatusCode.Unavailable, NonAscii), ex.Status);
        Assert.Equal("250", ex.Trailers.GetValue("retry-after-ms"));
    }

    [Theory]
    [InlineData("test.v1.Test", "NoSuchMethod")]
    [InlineData("no.such.Service", "Unary")]
    public async Task Unknown_method_is_unimplemented(string service, string method)
    {
        var unknown = Client.DiagnosticsMethods.Create(MethodType.Unary, method, service);

        var ex = await Assert.ThrowsAsync<RpcException>(() => _invoker.UnaryAsync(unknown, new EchoRequest()));

        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
    }

    [Fact]
    public async Task Gzip_in_both_directions()
    {
        string? requestEncoding = null;
        _fixture.Service.Unary = (request, context) =>
        {
            requestEncoding = context.GetHttpContext().Request.Headers["grpc-encoding"].ToString();
            return Task.FromResult(new EchoResponse { Message = request.Message, Payload = request.Payload });
        };
        var recorder = new ResponseHeaderRecorder(new SocketsHttpHandler());
        using var channel = GrpcChannel.ForAddress(_fixture.Server.Address, new GrpcChannelOptions { RequestCompression = "gzip", HttpHandler = recorder });
        var message = string.Concat(Enumerable.Repeat("compress me ", 500));

        var reply = await channel.CreateCallInvoker().UnaryAsync(TestMethods.Unary, new EchoRequest { Message = message });

        Assert.Equal(message, reply.Message);
        Assert.Equal("gzip", requestEncoding);
        Assert.Equal("gzip", recorder.Last("grpc-encoding"));
    }

    [Fact]
    public async Task Ascii_and_binary_metadata_round_trip_in_headers_and_trailers()
    {
        _fixture.Service.Unary = async (request, context) =>
        {
            var echoed = new Metadata();
            foreach (var entry in context.RequestHeaders)
            {
                if (entry.Key.StartsWith("x-", StringComparison.Ordinal))
                {
                    echoed.Add(entry);
                    context.ResponseTrailers.Add(entry);
                }
            }

            await context.WriteResponseHeadersAsync(echoed);
            return new EchoResponse();
        };
        var binary = new byte[] { 0, 1, 2, 127, 128, 254, 255 };
        var headers = new Metadata().Add("x-tenant", "acme").Add("x-trace-bin", binary);

        using var call = _invoker.AsyncUnaryCall(TestMethods.Unary, new EchoRequest(), new CallOptions(headers));
        await call;

        var responseHeaders = await call.ResponseHeadersAsync;
        Assert.Equal("acme", responseHeaders.GetValue("x-tenant"));
        Assert.Equal(binary, responseHeaders.Get("x-trace-bin")!.ValueBytes);
        Assert.Equal("acme", call.GetTrailers().GetValue("x-tenant"));
        Assert.Equal(binary, call.GetTrailers().Get("x-trace-bin")!.ValueBytes);
    }

    [Fact]
    public async Task Cancellation_reaches_the_server_handler()
    {
        var handlerCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlerStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fixture.Service.ServerStreaming = async (_, responses, context) =>
        {
            context.CancellationToken.Register(() => handlerCancelled.TrySetResult());
            await responses.WriteAsync(new EchoResponse { Sequence = 0 });
            handlerStarted.TrySetResult();
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        };
        using var cts = new CancellationTokenSource();
        using var call = _invoker.ServerStreaming(TestMethods.ServerStreaming, new EchoRequest(), new CallOptions(cancellationToken: cts.Token));

        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        await handlerStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await cts.CancelAsync();

        Assert.Equal(StatusCode.Cancelled, (await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None))).StatusCode);
        await handlerCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Health_check_and_watch()
    {
        var registry = _fixture.Server.Services.GetRequiredService<HealthStatusRegistry>();
        registry.SetStatus("e2e.Watched", ServingStatus.Serving);

        var check = await _invoker.UnaryAsync(TestMethods.HealthCheck, new HealthCheckRequest { Service = "" });
        var unknown = await Assert.ThrowsAsync<RpcException>(() => _invoker.UnaryAsync(TestMethods.HealthCheck, new HealthCheckRequest { Service = "e2e.Unknown" }));
        using var watch = _invoker.ServerStreaming(TestMethods.HealthWatch, new HealthCheckRequest { Service = "e2e.Watched" });
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
        var first = watch.ResponseStream.Current.Status;
        registry.SetStatus("e2e.Watched", ServingStatus.NotServing);
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(ServingStatus.Serving, check.Status);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(ServingStatus.Serving, first);
        Assert.Equal(ServingStatus.NotServing, watch.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task Reflection_v1_lists_the_services()
    {
        using var call = _invoker.DuplexStreaming(TestMethods.ReflectionV1);
        await call.RequestStream.WriteAsync(new global::Grpc.Reflection.V1.ServerReflectionRequest { ListServices = "" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Contains("test.v1.Test", names);
        Assert.Contains("grpc.health.v1.Health", names);
        Assert.Contains("grpc.reflection.v1.ServerReflection", names);
        Assert.Contains("grpc.reflection.v1alpha.ServerReflection", names);
    }

    [Fact]
    public async Task Reflection_v1alpha_lists_the_services()
    {
        using var call = _invoker.DuplexStreaming(TestMethods.ReflectionV1Alpha);
        await call.RequestStream.WriteAsync(new global::Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = "" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        await call.RequestStream.CompleteAsync();

        Assert.Contains("grpc.health.v1.Health", names);
        Assert.Contains("grpc.reflection.v1alpha.ServerReflection", names);
    }

    /// <summary>Remembers the last response headers seen below the channel (grpc-encoding is not user metadata).</summary>
    private sealed class ResponseHeaderRecorder(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private volatile HttpResponseMessage? _last;

        public string? Last(string name) =>
            _last is { } r && r.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            _last = response;
            return response;
        }
    }
}
