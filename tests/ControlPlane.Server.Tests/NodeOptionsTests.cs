using System.Net;

namespace ControlPlane.Server.Tests;

public sealed class NodeOptionsTests
{
    [Fact]
    public void Defaults_listen_on_loopback_50051_without_diagnostics()
    {
        Assert.True(NodeOptions.TryParse([], out var options, out _));

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 50051), options.GrpcEndpoint);
        Assert.False(options.EnableDiagnostics);
        Assert.False(options.ShowHelp);
        Assert.True(options.Dashboard);
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
    public void Control_plane_defaults_are_admin_on_8080_sqlite_in_data_the_sample_fleet_and_a_single_silo()
    {
        Assert.True(NodeOptions.TryParse([], out var options, out _));

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8080), options.AdminEndpoint);
        Assert.Equal("data", options.DataDirectory);
        Assert.Equal(ControlPlane.Service.ControlPlaneStorage.Sqlite, options.Storage);
        Assert.Null(options.FleetPath);
        Assert.False(options.IsClusterNode);
        Assert.Equal(NodeRole.Both, options.Role);
        Assert.Equal("cp", options.ClusterPrefix);
        Assert.Equal(NodeOptions.DefaultSiloPort, options.SiloPort);
        Assert.Equal(NodeOptions.DefaultGatewayPort, options.GatewayPort);
        Assert.False(options.OrleansDefaultMembership);
    }

    [Fact]
    public void Control_plane_options_are_parsed()
    {
        Assert.True(NodeOptions.TryParse(
            ["--admin-listen", "0.0.0.0:9090", "--fleet=prod.yaml", "--data-dir", "/var/lib/cp", "--storage", "memory", "--dashboard"], out var options, out var error), error);

        Assert.Equal("0.0.0.0:9090", options.AdminEndpoint.ToString());
        Assert.Equal("prod.yaml", options.FleetPath);
        Assert.Equal("/var/lib/cp", options.DataDirectory);
        Assert.Equal(ControlPlane.Service.ControlPlaneStorage.Memory, options.Storage);
        Assert.True(options.Dashboard);
    }

    [Theory]
    [InlineData(new string[0], true)]
    [InlineData(new[] { "--dashboard" }, true)]
    [InlineData(new[] { "--dashboard", "on" }, true)]
    [InlineData(new[] { "--dashboard", "off" }, false)]
    [InlineData(new[] { "--dashboard=off" }, false)]
    [InlineData(new[] { "--dashboard", "--storage", "memory" }, true)]
    public void The_Orleans_dashboard_is_on_unless_turned_off(string[] args, bool expected)
    {
        Assert.True(NodeOptions.TryParse(args, out var options, out var error), error);

        Assert.Equal(expected, options.Dashboard);
    }

    [Fact]
    public void Decision_key_and_unrouted_outcomes_are_parsed_and_a_bad_key_is_refused_without_echoing_it()
    {
        Assert.True(NodeOptions.TryParse([], out var defaults, out _));
        Assert.Null(defaults.DecisionKey);
        Assert.False(defaults.AcceptUnroutedOutcomes);
        var key = Convert.ToBase64String(new byte[32]);

        Assert.True(NodeOptions.TryParse(["--decision-key", key, "--accept-unrouted-outcomes"], out var options, out var error), error);

        Assert.Equal(key, options.DecisionKey);
        Assert.True(options.AcceptUnroutedOutcomes);
        Assert.False(NodeOptions.TryParse(["--decision-key", "c2VjcmV0LXRvby1zaG9ydA=="], out _, out error));
        Assert.StartsWith("Invalid --decision-key: expected base64 of 32 to 64 random bytes", error, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--fleet" }, "Option '--fleet' needs a value.")]
    [InlineData(new[] { "--admin-listen", "10.0.0.1:99999" }, "Invalid --admin-listen '10.0.0.1:99999': port '99999' must be a number from 0 to 65535.")]
    [InlineData(new[] { "--admin-listen" }, "Option '--admin-listen' needs a value HOST:PORT, e.g. 127.0.0.1:8080.")]
    [InlineData(new[] { "--storage", "redis" }, "Invalid --storage 'redis': expected sqlite or memory.")]
    [InlineData(new[] { "--redis", "127.0.0.1" }, "Invalid --redis '127.0.0.1': expected HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:6379.")]
    [InlineData(new[] { "--redis", "redis:0" }, "Invalid --redis 'redis:0': expected HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:6379.")]
    [InlineData(new[] { "--redis", "127.0.0.1:6379", "--storage", "memory" }, "Options '--storage' and '--data-dir' do not apply with '--redis': a cluster node keeps grain state in Redis.")]
    [InlineData(new[] { "--redis", "127.0.0.1:6379", "--data-dir", "x" }, "Options '--storage' and '--data-dir' do not apply with '--redis': a cluster node keeps grain state in Redis.")]
    [InlineData(new[] { "--node-name", "n1" }, "Options '--node-name' and '--advertise' need '--redis HOST:PORT'.")]
    [InlineData(new[] { "--advertise", "10.0.0.7" }, "Options '--node-name' and '--advertise' need '--redis HOST:PORT'.")]
    [InlineData(new[] { "--cluster-prefix", "prod" }, "Option '--cluster-prefix' needs '--redis HOST:PORT'.")]
    [InlineData(new[] { "--role", "silo" }, "Option '--role silo|data-plane' needs '--redis HOST:PORT': a single node is both.")]
    [InlineData(new[] { "--role", "data-plane" }, "Option '--role silo|data-plane' needs '--redis HOST:PORT': a single node is both.")]
    [InlineData(new[] { "--redis", "r:6379", "--role", "gateway" }, "Invalid --role 'gateway': expected both, silo or data-plane.")]
    [InlineData(new[] { "--redis", "r:6379", "--role" }, "Option '--role' needs a value.")]
    [InlineData(new[] { "--redis", "r:6379", "--membership", "slow" }, "Invalid --membership 'slow': expected fast or orleans.")]
    [InlineData(new[] { "--silo-port", "65536" }, "Invalid --silo-port '65536': expected a port from 0 to 65535.")]
    [InlineData(new[] { "--silo-port", "-1" }, "Invalid --silo-port '-1': expected a port from 0 to 65535.")]
    [InlineData(new[] { "--silo-port", "eleven" }, "Invalid --silo-port 'eleven': expected a port from 0 to 65535.")]
    [InlineData(new[] { "--gateway-port", "70000" }, "Invalid --gateway-port '70000': expected a port from 0 to 65535.")]
    [InlineData(new[] { "--redis", "r:6379", "--advertise", "10.0.0.7:50051" }, "Invalid --advertise '10.0.0.7:50051': expected an IP address other silos can reach, e.g. 10.0.0.5.")]
    [InlineData(new[] { "--redis", "r:6379", "--advertise", "node-a.internal" }, "Invalid --advertise 'node-a.internal': expected an IP address other silos can reach, e.g. 10.0.0.5.")]
    [InlineData(new[] { "--redis", "r:6379", "--node-name", "a/b" }, "Invalid --node-name 'a/b': at most 64 characters, without '/', '|', '.' or whitespace.")]
    [InlineData(new[] { "--redis", "r:6379", "--cluster-prefix", "{x}" }, "Invalid --cluster-prefix '{x}': at most 64 characters, without braces or whitespace.")]
    [InlineData(new[] { "--redis", "r:6379", "--grpc-listen", "0.0.0.0:5000" }, "Option '--advertise IP' is required with '--redis' when gRPC listens on 0.0.0.0: other silos need an address to call.")]
    public void Bad_control_plane_options_are_named(string[] args, string expected)
    {
        Assert.False(NodeOptions.TryParse(args, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Cluster_options_are_parsed()
    {
        Assert.True(NodeOptions.TryParse(
            ["--redis", "redis.internal:6379", "--node-name", "cp-a", "--grpc-listen", "0.0.0.0:50051", "--advertise", "10.0.0.7", "--cluster-prefix", "prod",
                "--role", "silo", "--silo-port", "11112", "--gateway-port=30001", "--membership", "orleans"],
            out var options, out var error), error);

        Assert.True(options.IsClusterNode);
        Assert.Equal("redis.internal:6379", options.RedisEndpoint);
        Assert.Equal("cp-a", options.NodeName);
        Assert.Equal("10.0.0.7", options.AdvertiseAddress);
        Assert.Equal("prod", options.ClusterPrefix);
        Assert.Equal(NodeRole.Silo, options.Role);
        Assert.Equal(11112, options.SiloPort);
        Assert.Equal(30001, options.GatewayPort);
        Assert.True(options.OrleansDefaultMembership);
    }

    [Theory]
    [InlineData("both", "Both")]
    [InlineData("silo", "Silo")]
    [InlineData("data-plane", "DataPlane")]
    public void Role_is_parsed_with_redis(string role, string expected)
    {
        Assert.True(NodeOptions.TryParse(["--redis", "127.0.0.1:6379", "--role", role], out var options, out var error), error);

        Assert.Equal(expected, options.Role.ToString());
    }

    [Theory]
    [InlineData("fast", false)]
    [InlineData("orleans", true)]
    public void Membership_is_parsed(string membership, bool orleansDefaults)
    {
        Assert.True(NodeOptions.TryParse(["--redis", "127.0.0.1:6379", "--membership", membership], out var options, out var error), error);

        Assert.Equal(orleansDefaults, options.OrleansDefaultMembership);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("11111", 11111)]
    [InlineData("65535", 65535)]
    public void Silo_port_is_parsed_including_0_for_a_free_port(string port, int expected)
    {
        Assert.True(NodeOptions.TryParse(["--silo-port", port], out var options, out var error), error);

        Assert.Equal(expected, options.SiloPort);
    }

    [Theory]
    [InlineData("10.0.0.7")]
    [InlineData("::1")]
    [InlineData("fd00::5")]
    public void Advertise_takes_an_IP_address(string address)
    {
        Assert.True(NodeOptions.TryParse(["--redis", "127.0.0.1:6379", "--grpc-listen", "0.0.0.0:50051", "--advertise", address], out var options, out var error), error);

        Assert.Equal(address, options.AdvertiseAddress);
    }

    [Fact]
    public void A_cluster_node_listening_on_loopback_needs_no_advertise()
    {
        Assert.True(NodeOptions.TryParse(["--redis", "127.0.0.1:6379", "--grpc-listen", "127.0.0.1:0"], out var options, out var error), error);

        Assert.Null(options.AdvertiseAddress);
        Assert.Equal("cp", options.ClusterPrefix);
    }

    [Fact]
    public void Diagnostics_can_be_disabled_and_help_requested()
    {
        Assert.True(NodeOptions.TryParse(["--enable-diagnostics", "--disable-diagnostics", "-h"], out var options, out _));

        Assert.False(options.EnableDiagnostics);
        Assert.True(options.ShowHelp);
    }

    [Fact]
    public void Enable_diagnostics_is_accepted_and_the_last_switch_wins()
    {
        Assert.True(NodeOptions.TryParse(["--disable-diagnostics", "--enable-diagnostics"], out var options, out _));

        Assert.True(options.EnableDiagnostics);
    }

    [Fact]
    public void Usage_names_every_option()
    {
        foreach (var option in new[]
        {
            "--grpc-listen", "--admin-listen", "--fleet", "--data-dir", "--storage", "--redis", "--role", "--node-name", "--advertise", "--silo-port",
            "--gateway-port", "--cluster-prefix", "--membership", "--dashboard", "--enable-diagnostics", "--disable-diagnostics", "--help",
        })
        {
            Assert.Contains(option, NodeOptions.Usage, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(new[] { "--grpc-listen" }, "needs a value")]
    [InlineData(new[] { "--grpc-listen", "127.0.0.1" }, "expected HOST:PORT")]
    [InlineData(new[] { "--grpc-listen", "127.0.0.1:70000" }, "port '70000'")]
    [InlineData(new[] { "--grpc-listen", "127.0.0.1:-1" }, "port '-1'")]
    [InlineData(new[] { "--grpc-listen", "example.com:80" }, "host 'example.com'")]
    [InlineData(new[] { "--frobnicate" }, "Unknown argument '--frobnicate'")]
    [InlineData(new[] { "--disable-diagnostics=yes" }, "Unknown argument")]
    [InlineData(new[] { "--dashboard=yes" }, "Invalid --dashboard 'yes'")]
    public void Bad_arguments_are_rejected_with_a_message_naming_them(string[] args, string expected)
    {
        Assert.False(NodeOptions.TryParse(args, out _, out var error));

        Assert.Contains(expected, error, StringComparison.Ordinal);
    }
}
