using System.Text;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Diagnostics;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Server.Tests.Support;

namespace ControlPlane.Server.Tests.Diagnostics;

/// <summary>The Diagnostics service of a node started with diagnostics enabled, over raw HTTP/2 gRPC.</summary>
public sealed class DiagnosticsServiceTests : IAsyncLifetime
{
    private const string Echo = "/controlplane.v1.Diagnostics/Echo";
    private ControlPlaneNode _node = null!;

    public async Task InitializeAsync() => _node = await ControlPlaneNode.StartInMemoryAsync(enableDiagnostics: true);

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Echo_returns_message_and_payload()
    {
        var response = await _node.Raw.UnaryAsync(Echo, new EchoRequest { Message = "m", Payload = Google.Protobuf.ByteString.CopyFrom(1, 2, 3) });

        var reply = response.Single(EchoResponse.Parser);
        Assert.Equal(("m", 1), (reply.Message, reply.Count));
        Assert.Equal([1, 2, 3], reply.Payload.ToByteArray());
    }

    [Fact]
    public async Task Echo_fails_with_the_requested_status_and_message()
    {
        var response = await _node.Raw.UnaryAsync(Echo, new EchoRequest { RespondWithStatus = (int)StatusCode.Unavailable, StatusMessage = "provider down ⚠" });

        Assert.Equal(StatusCode.Unavailable, response.Status);
        Assert.Equal("provider down ⚠", response.Message);
    }

    [Theory]
    [InlineData(17)]
    [InlineData(-3)]
    public async Task Echo_rejects_a_status_that_is_not_a_gRPC_code(int status)
    {
        var response = await _node.Raw.UnaryAsync(Echo, new EchoRequest { RespondWithStatus = status });

        Assert.Equal(StatusCode.InvalidArgument, response.Status);
    }

    [Fact]
    public async Task Echo_delay_is_cut_short_by_the_deadline()
    {
        var response = await _node.Raw.UnaryAsync(Echo, new EchoRequest { DelayMs = 60_000 }, ("grpc-timeout", "50m"));

        Assert.Equal(StatusCode.DeadlineExceeded, response.Status);
    }

    [Fact]
    public async Task Echo_sends_requested_metadata_back_in_headers_and_trailers_including_binary()
    {
        var request = new EchoRequest { EchoMetadata = { "x-tenant", "trace-bin", "absent" } };

        var response = await _node.Raw.UnaryAsync(Echo, request, ("x-tenant", "acme"), ("trace-bin", "AAEC"), ("x-other", "no"));

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal("acme", Assert.Single(response.Headers.GetValues("x-tenant")));
        Assert.Equal("acme", Assert.Single(response.Trailers.GetValues("x-tenant")));
        Assert.Equal("AAEC", Assert.Single(response.Headers.GetValues("trace-bin")));
        Assert.Equal("AAEC", Assert.Single(response.Trailers.GetValues("trace-bin")));
        Assert.False(response.Headers.Contains("x-other"));
    }

    [Fact]
    public async Task EchoStream_sends_count_messages_in_sequence()
    {
        var response = await _node.Raw.UnaryAsync("/controlplane.v1.Diagnostics/EchoStream", new EchoRequest { Message = "s", Count = 4 });

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal([0, 1, 2, 3], response.Payloads.Select(p => EchoResponse.Parser.ParseFrom(p).Sequence));
        Assert.All(response.Payloads, p => Assert.Equal(4, EchoResponse.Parser.ParseFrom(p).Count));
    }

    [Fact]
    public async Task EchoStream_rejects_a_negative_or_huge_count()
    {
        var negative = await _node.Raw.UnaryAsync("/controlplane.v1.Diagnostics/EchoStream", new EchoRequest { Count = -1 });
        var huge = await _node.Raw.UnaryAsync("/controlplane.v1.Diagnostics/EchoStream", new EchoRequest { Count = DiagnosticsService.MaxStreamCount + 1 });

        Assert.Equal(StatusCode.InvalidArgument, negative.Status);
        Assert.Equal(StatusCode.InvalidArgument, huge.Status);
    }

    [Fact]
    public async Task Collect_concatenates_messages_and_payloads()
    {
        var body = new[] { "a", "b", "c" }
            .SelectMany(m => GrpcWire.Frame(new EchoRequest { Message = m, Payload = Google.Protobuf.ByteString.CopyFromUtf8(m.ToUpperInvariant()) }))
            .ToArray();

        var response = await _node.Raw.CallAsync("/controlplane.v1.Diagnostics/Collect", body);

        var reply = response.Single(EchoResponse.Parser);
        Assert.Equal(("abc", "ABC", 3), (reply.Message, Encoding.UTF8.GetString(reply.Payload.Span), reply.Count));
    }

    [Fact]
    public async Task Chat_echoes_each_message_and_stops_at_a_requested_status()
    {
        var body = GrpcWire.Frame(new EchoRequest { Message = "one" })
            .Concat(GrpcWire.Frame(new EchoRequest { Message = "two" }))
            .Concat(GrpcWire.Frame(new EchoRequest { RespondWithStatus = (int)StatusCode.Aborted, StatusMessage = "enough" }))
            .ToArray();

        var response = await _node.Raw.CallAsync("/controlplane.v1.Diagnostics/Chat", body);

        Assert.Equal(["one", "two"], response.Payloads.Select(p => EchoResponse.Parser.ParseFrom(p).Message));
        Assert.Equal((StatusCode.Aborted, "enough"), (response.Status!.Value, response.Message!));
    }
}
