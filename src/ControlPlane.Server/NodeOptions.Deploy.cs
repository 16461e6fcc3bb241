namespace ControlPlane.Server;

/// <summary>The node's deployment settings (<c>--kubernetes</c>, the Redis password); <see cref="Deploy.NodeEnvironment"/>
/// fills them from the environment.</summary>
internal sealed partial record NodeOptions
{
    /// <summary>Run as a Kubernetes pod (<c>--kubernetes</c>): Orleans' Kubernetes hosting on the silo, the node named
    /// after its pod and advertising its pod IP (docs/operations.md).</summary>
    public bool Kubernetes { get; init; }

    /// <summary>The password of the cluster's Redis (<c>CONTROLPLANE_REDIS_PASSWORD</c>); null connects without one.</summary>
    public string? RedisPassword { get; init; }
}
