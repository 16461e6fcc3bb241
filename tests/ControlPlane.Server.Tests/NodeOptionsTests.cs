using System.Net;

namespace ControlPlane.Server.Tests;

public sealed class NodeOptionsTests
{
    [Fact]
    public void Defaults_listen_on_loopback_50051_with_diagnostics()
    {
        Assert.True(NodeOptions.TryParse([], out var options, out _));

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 50051), options.GrpcEndpoint);
        Assert.True(options.EnableDiagnostics);
        Assert.False(options.ShowHelp);
    }

    [Theory]
    [InlineData(new[] { "--grpc-listen", "127.0.0.1:0" }, "127.0.0.1:0")]
    [InlineData(new[] { "--grpc-listen=0.0.0.0:6000" }, "0.0.0.0:6000")]
    [InlineData(new[] { "--grpc-listen", "localhost:7000" }, "127.0.0.1:7000")]
    [InlineData(new[] { "--grpc-listen", "[::1]:8000" }, "[::1]:8000")]
    public void Listen_address_is_parsed(string[] args, string expected)
    {
        Assert.True(NodeOptions.TryParse(args, out var options, out var error), error);

        Assert.Equal(expected, options.GrpcEndpoint.ToString());
    }

    [Fact]
    public void Diagnostics_can_be_disabled_and_help_requested()
    {
        Assert.True(NodeOptions.TryParse(["--disable-diagnostics", "-h"], out var options, out _));

        Assert.False(options.EnableDiagnostics);
        Assert.True(options.ShowHelp);
    }

    [Fact]
    public void Enable_diagnostics_is_accepted_and_the_last_switch_wins()
    {
        Assert.True(NodeOptions.TryParse(["--disable-diagnostics", "--enable-diagnostics"], out var options, out _));

        Assert.True(options.EnableDiagnostics);
    }

    [Theory]
    [InlineData(new[] { "--grpc-listen" }, "needs a value")]
    [InlineData(new[] { "--grpc-listen", "127.0.0.1" }, "expected HOST:PORT")]
    [InlineData(new[] { "--grpc-listen", "127.0.0.1:70000" }, "port '70000'")]
    [InlineData(new[] { "--grpc-listen", "127.0.0.1:-1" }, "port '-1'")]
    [InlineData(new[] { "--grpc-listen", "example.com:80" }, "host 'example.com'")]
    [InlineData(new[] { "--frobnicate" }, "Unknown argument '--frobnicate'")]
    [InlineData(new[] { "--disable-diagnostics=yes" }, "Unknown argument")]
    public void Bad_arguments_are_rejected_with_a_message_naming_them(string[] args, string expected)
    {
        Assert.False(NodeOptions.TryParse(args, out _, out var error));

        Assert.Contains(expected, error, StringComparison.Ordinal);
    }
}
