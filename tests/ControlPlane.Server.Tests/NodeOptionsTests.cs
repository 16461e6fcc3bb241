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
    public void Control_plane_defaults_are_admin_on_8080_sqlite_in_data_and_the_sample_fleet()
    {
        Assert.True(NodeOptions.TryParse([], out var options, out _));

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8080), options.AdminEndpoint);
        Assert.Equal("data", options.DataDirectory);
        Assert.Equal(ControlPlane.Service.ControlPlaneStorage.Sqlite, options.Storage);
        Assert.Null(options.FleetPath);
    }

    [Fact]
    public void Control_plane_options_are_parsed()
    {
        Assert.True(NodeOptions.TryParse(
            ["--admin-listen", "0.0.0.0:9090", "--fleet=prod.yaml", "--data-dir", "/var/lib/cp", "--storage", "memory"], out var options, out var error), error);

        Assert.Equal("0.0.0.0:9090", options.AdminEndpoint.ToString());
        Assert.Equal("prod.yaml", options.FleetPath);
        Assert.Equal("/var/lib/cp", options.DataDirectory);
        Assert.Equal(ControlPlane.Service.ControlPlaneStorage.Memory, options.Storage);
    }

    [Theory]
    [InlineData(new[] { "--fleet" }, "Option '--fleet' needs a value.")]
    [InlineData(new[] { "--admin-listen", "10.0.0.1:99999" }, "Invalid --admin-listen '10.0.0.1:99999': port '99999' must be a number from 0 to 65535.")]
    [InlineData(new[] { "--redis", "127.0.0.1" }, "Invalid --redis '127.0.0.1': expected HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:6379.")]
    [InlineData(new[] { "--redis", "redis:0" }, "Invalid --redis 'redis:0': expected HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:6379.")]
    [InlineData(new[] { "--redis", "127.0.0.1:6379", "--storage", "memory" }, "Options '--storage' and '--data-dir' do not apply with '--redis': a cluster node keeps grain state in Redis.")]
    [InlineData(new[] { "--redis", "127.0.0.1:6379", "--data-dir", "x" }, "Options '--storage' and '--data-dir' do not apply with '--redis': a cluster node keeps grain state in Redis.")]
    [InlineData(new[] { "--node-name", "n1" }, "Options '--node-name' and '--advertise' need '--redis HOST:PORT'.")]
    [InlineData(new[] { "--cluster-prefix", "cp:x" }, "Option '--cluster-prefix' needs '--redis HOST:PORT'.")]
    [InlineData(new[] { "--redis", "r:6379", "--node-name", "a/b" }, "Invalid --node-name 'a/b': at most 64 characters, without '/', '|', '.' or whitespace.")]
    [InlineData(new[] { "--redis", "r:6379", "--cluster-prefix", "{x}" }, "Invalid --cluster-prefix '{x}': at most 64 characters, without braces or whitespace.")]
    [InlineData(new[] { "--redis", "r:6379", "--grpc-listen", "0.0.0.0:5000" }, "Option '--advertise HOST:PORT' is required with '--redis' when gRPC listens on 0.0.0.0: other nodes need an address to call.")]
    public void Bad_control_plane_options_are_named(string[] args, string expected)
    {
        Assert.False(NodeOptions.TryParse(args, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Cluster_options_are_parsed()
    {
        Assert.True(NodeOptions.TryParse(
            ["--redis", "redis.internal:6379", "--node-name", "cp-a", "--grpc-listen", "0.0.0.0:50051", "--advertise", "10.0.0.7:50051", "--cluster-prefix", "cp:prod"],
            out var options, out var error), error);

        Assert.True(options.IsClusterNode);
        Assert.Equal("redis.internal:6379", options.RedisEndpoint);
        Assert.Equal("cp-a", options.NodeName);
        Assert.Equal("10.0.0.7:50051", options.AdvertiseAddress);
        Assert.Equal("cp:prod", options.ClusterPrefix);
        Assert.True(NodeOptions.TryParse([], out var single, out _));
        Assert.False(single.IsClusterNode);
        Assert.Equal("cp:grains", single.ClusterPrefix);
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
