using ControlPlane.Server.Deploy;

namespace ControlPlane.Server.Tests.Deploy;

/// <summary>--kubernetes and the deployment environment: the pod's identity from the downward API, the Redis password from
/// a Secret, and refusals of values that contradict the command line.</summary>
public sealed class NodeEnvironmentTests
{
    private static readonly Dictionary<string, string> Pod = new()
    {
        ["POD_NAME"] = "controlplane-7d9f8-x2x4q",
        ["POD_NAMESPACE"] = "controlplane",
        ["POD_IP"] = "10.12.3.4",
        ["ORLEANS_SERVICE_ID"] = "controlplane",
        ["ORLEANS_CLUSTER_ID"] = "cp-us-east",
    };

    private static NodeOptions Parse(params string[] args)
    {
        Assert.True(NodeOptions.TryParse(args, out var options, out var error), error);
        return options;
    }

    private static (bool Ok, NodeOptions Options, string Error) Apply(NodeOptions options, IReadOnlyDictionary<string, string> environment)
    {
        var ok = NodeEnvironment.TryApply(options, n => environment.GetValueOrDefault(n), out var applied, out var error);
        return (ok, applied, error);
    }

    [Fact]
    public void Kubernetes_names_the_node_after_its_pod_advertises_the_pod_IP_and_takes_the_cluster_id()
    {
        var options = Parse("--kubernetes", "--redis", "redis:6379", "--grpc-listen", "0.0.0.0:50051");

        var (ok, applied, error) = Apply(options, Pod);

        Assert.True(ok, error);
        Assert.True(applied.Kubernetes);
        Assert.Equal("controlplane-7d9f8-x2x4q", applied.NodeName);
        Assert.Equal("10.12.3.4", applied.AdvertiseAddress);
        Assert.Equal("cp-us-east", applied.ClusterPrefix);
    }

    [Fact]
    public void Kubernetes_needs_a_Redis_cluster_and_a_silo_and_waives_advertise_on_a_wildcard_listener()
    {
        Assert.False(NodeOptions.TryParse(["--kubernetes"], out _, out var error));
        Assert.Contains("--kubernetes", error, StringComparison.Ordinal);
        Assert.False(NodeOptions.TryParse(["--kubernetes", "--redis", "r:6379", "--role", "data-plane"], out _, out error));
        Assert.Contains("--kubernetes", error, StringComparison.Ordinal);
        Assert.False(NodeOptions.TryParse(["--kubernetes=yes", "--redis", "r:6379"], out _, out _));
        // Without --kubernetes a wildcard listener needs --advertise; with it POD_IP is the address.
        Assert.False(NodeOptions.TryParse(["--redis", "r:6379", "--grpc-listen", "0.0.0.0:50051"], out _, out _));
        Assert.True(NodeOptions.TryParse(["--kubernetes", "--redis", "r:6379", "--grpc-listen", "0.0.0.0:50051"], out _, out error), error);
    }

    [Theory]
    [InlineData("POD_NAME", null, "POD_NAME")]
    [InlineData("POD_NAME", "Controlplane_0", "POD_NAME")]
    [InlineData("POD_NAMESPACE", null, "POD_NAMESPACE")]
    [InlineData("POD_IP", null, "POD_IP")]
    [InlineData("POD_IP", "not-an-ip", "POD_IP")]
    [InlineData("ORLEANS_SERVICE_ID", "other-service", "ORLEANS_SERVICE_ID")]
    [InlineData("ORLEANS_CLUSTER_ID", "bad id{}", "ORLEANS_CLUSTER_ID")]
    public void A_missing_or_invalid_pod_variable_is_refused_naming_it(string variable, string? value, string named)
    {
        var environment = new Dictionary<string, string>(Pod);
        if (value is null)
        {
            environment.Remove(variable);
        }
        else
        {
            environment[variable] = value;
        }

        var (ok, _, error) = Apply(Parse("--kubernetes", "--redis", "redis:6379"), environment);

        Assert.False(ok);
        Assert.Contains(named, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--node-name", "other-node", "--node-name")]
    [InlineData("--advertise", "10.0.0.9", "--advertise")]
    [InlineData("--cluster-prefix", "cp-eu-west", "--cluster-prefix")]
    public void A_command_line_that_contradicts_the_pod_is_refused(string option, string value, string named)
    {
        var (ok, _, error) = Apply(Parse("--kubernetes", "--redis", "redis:6379", option, value), Pod);

        Assert.False(ok);
        Assert.Contains(named, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Matching_command_line_values_are_accepted()
    {
        var (ok, applied, error) = Apply(Parse("--kubernetes", "--redis", "redis:6379", "--node-name", "controlplane-7d9f8-x2x4q",
            "--advertise", "10.12.3.4", "--cluster-prefix", "cp-us-east"), Pod);

        Assert.True(ok, error);
        Assert.Equal("cp-us-east", applied.ClusterPrefix);
    }

    [Fact]
    public void Without_kubernetes_the_pod_variables_are_ignored()
    {
        var options = Parse("--redis", "redis:6379", "--node-name", "n1");

        var (ok, applied, _) = Apply(options, Pod);

        Assert.True(ok);
        Assert.Equal("n1", applied.NodeName);
        Assert.Equal("cp", applied.ClusterPrefix);
        Assert.Null(applied.AdvertiseAddress);
    }

    [Fact]
    public void The_Redis_password_comes_from_the_environment_for_a_cluster_node_only_and_is_never_echoed()
    {
        var secret = new Dictionary<string, string> { ["CONTROLPLANE_REDIS_PASSWORD"] = "s3cret-pass" };

        Assert.Equal("s3cret-pass", Apply(Parse("--redis", "redis:6379"), secret).Options.RedisPassword);
        Assert.Null(Apply(Parse(), secret).Options.RedisPassword);

        var (ok, _, error) = Apply(Parse("--redis", "redis:6379"), new Dictionary<string, string> { ["CONTROLPLANE_REDIS_PASSWORD"] = "s3cret\npass" });
        Assert.False(ok);
        Assert.Contains("CONTROLPLANE_REDIS_PASSWORD", error, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", error, StringComparison.Ordinal);
        Assert.False(Apply(Parse("--redis", "redis:6379"), new Dictionary<string, string> { ["CONTROLPLANE_REDIS_PASSWORD"] = new string('x', 513) }).Ok);
    }
}
