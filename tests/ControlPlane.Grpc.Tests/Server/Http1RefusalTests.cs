using System.Net.Sockets;
using System.Text;
using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Tests.Support;
using ControlPlane.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grpc.Tests.Server;

/// <summary>The connection preface check in front of an HTTP/2-only endpoint, over raw TCP.</summary>
public sealed class Http1RefusalTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new();
    private GrpcTestServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await GrpcTestServer.StartAsync(s =>
        {
            s.AddSingleton<TimeProvider>(_time);
            s.AddGrpcService(new TestService().CreateDefinition());
        });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("POST /test.v1.Test/Unary HTTP/1.0\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("PRI * HTTP/1.1\r\n\r\n")]
    public async Task Anything_but_the_HTTP2_preface_gets_a_426_explaining_that_gRPC_needs_HTTP2(string request)
    {
        using var tcp = await ConnectAsync();
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));

        var answer = await ReadToEndAsync(stream);

        Assert.StartsWith("HTTP/1.1 426 Upgrade Required\r\n", answer, StringComparison.Ordinal);
        Assert.Contains("\r\nUpgrade: h2c\r\n", answer, StringComparison.Ordinal);
        Assert.Contains("\r\ngrpc-status: 13\r\n", answer, StringComparison.Ordinal);
        Assert.EndsWith(Http1RefusalConnectionMiddleware.Reason + "\n", answer, StringComparison.Ordinal);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Connection_closed_before_any_byte_is_harmless()
    {
        using (await ConnectAsync())
        {
        }

        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Connection_silent_past_the_preface_timeout_is_dropped()
    {
        using var tcp = await ConnectAsync();
        var stream = tcp.GetStream();
        await stream.WriteAsync("PRI"u8.ToArray());
        await AssertStillServesAsync();

        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal("", await ReadToEndAsync(stream));
    }

    private async Task<TcpClient> ConnectAsync()
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(_server.Address.Host, _server.Address.Port);
        return tcp;
    }

    private static async Task<string> ReadToEndAsync(NetworkStream stream)
    {
        using var output = new MemoryStream();
        try
        {
            await stream.CopyToAsync(output);
        }
        catch (IOException)
        {
            // A reset after the answer still leaves what was read.
        }

        return Encoding.UTF8.GetString(output.ToArray());
    }

    private async Task AssertStillServesAsync()
    {
        var response = await _server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest { Message = "h2" });
        Assert.Equal(StatusCode.OK, response.Status);
    }
}
