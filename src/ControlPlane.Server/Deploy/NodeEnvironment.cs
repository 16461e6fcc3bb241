using System.Net;

namespace ControlPlane.Server.Deploy;

/// <summary>What a node takes from its environment when deployed (docs/operations.md): the Redis password
/// (<c>CONTROLPLANE_REDIS_PASSWORD</c>, from a Secret) and, with <c>--kubernetes</c>, the pod's identity from the
/// downward API: <c>POD_NAME</c> (node and silo name), <c>POD_NAMESPACE</c>, <c>POD_IP</c> (the address other silos call),
/// <c>ORLEANS_SERVICE_ID</c> (must be the product's service id) and <c>ORLEANS_CLUSTER_ID</c> (the cluster id). Values
/// that contradict the command line stop the node: a silo named or scoped differently from what Orleans' Kubernetes
/// hosting reads from the same variables would watch the wrong pods or write another cluster's Redis keys.</summary>
internal static class NodeEnvironment
{
    /// <summary>The pod's name (downward API <c>metadata.name</c>).</summary>
    public const string PodNameVariable = "POD_NAME";

    /// <summary>The pod's namespace (downward API <c>metadata.namespace</c>), where Orleans' Kubernetes hosting watches pods.</summary>
    public const string PodNamespaceVariable = "POD_NAMESPACE";

    /// <summary>The pod's IP address (downward API <c>status.podIP</c>).</summary>
    public const string PodIpVariable = "POD_IP";

    /// <summary>The Orleans service id Orleans' Kubernetes hosting applies (downward API, the pod's <c>orleans/serviceId</c> label).</summary>
    public const string ServiceIdVariable = "ORLEANS_SERVICE_ID";

    /// <summary>The Orleans cluster id Orleans' Kubernetes hosting applies (downward API, the pod's <c>orleans/clusterId</c> label).</summary>
    public const string ClusterIdVariable = "ORLEANS_CLUSTER_ID";

    /// <summary>The password of the cluster's Redis (a Secret), for a Redis started with <c>requirepass</c>.</summary>
    public const string RedisPasswordVariable = "CONTROLPLANE_REDIS_PASSWORD";

    /// <summary>Upper bound of any value read here; longer values are refused before they are used.</summary>
    internal const int MaxValueLength = 512;

    /// <summary>Applies the environment to parsed options; false with a message naming the variable at fault (a
    /// secret's value is never echoed).</summary>
    public static bool TryApply(NodeOptions options, Func<string, string?> environment, out NodeOptions applied, out string error)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(environment);
        applied = options;
        error = "";
        if (options.IsClusterNode && environment(RedisPasswordVariable) is { Length: > 0 } password)
        {
            if (password.Length > MaxValueLength || password.AsSpan().IndexOfAny("\r\n") >= 0)
            {
                error = $"Invalid {RedisPasswordVariable}: at most {MaxValueLength} characters on one line.";
                return false;
            }

            applied = applied with { RedisPassword = password };
        }

        return !options.Kubernetes || TryApplyPod(applied, environment, out applied, out error);
    }

    private static bool TryApplyPod(NodeOptions options, Func<string, string?> environment, out NodeOptions applied, out string error)
    {
        applied = options;
        var podName = environment(PodNameVariable);
        if (string.IsNullOrEmpty(podName) || podName.Length > 63 || !IsDnsLabel(podName))
        {
            error = $"--kubernetes needs {PodNameVariable} (the downward API's metadata.name): a DNS label of at most 63 characters.";
            return false;
        }

        if (options.NodeName is { } nodeName && nodeName != podName)
        {
            error = $"--node-name '{nodeName}' differs from {PodNameVariable} '{podName}': with --kubernetes the node is named after its pod.";
            return false;
        }

        var podNamespace = environment(PodNamespaceVariable);
        if (string.IsNullOrEmpty(podNamespace) || podNamespace.Length > 63 || !IsDnsLabel(podNamespace))
        {
            error = $"--kubernetes needs {PodNamespaceVariable} (the downward API's metadata.namespace): a DNS label of at most 63 characters.";
            return false;
        }

        var podIp = environment(PodIpVariable);
        if (string.IsNullOrEmpty(podIp) || podIp.Length > 64 || !IPAddress.TryParse(podIp, out _))
        {
            error = $"--kubernetes needs {PodIpVariable} (the downward API's status.podIP): an IP address other silos can reach.";
            return false;
        }

        if (options.AdvertiseAddress is { } advertise && !IPAddress.Parse(advertise).Equals(IPAddress.Parse(podIp)))
        {
            error = $"--advertise {advertise} differs from {PodIpVariable} {podIp}: with --kubernetes the silo advertises its pod IP.";
            return false;
        }

        if (environment(ServiceIdVariable) is { Length: > 0 } serviceId && serviceId != NodeHost.ServiceId)
        {
            error = $"{ServiceIdVariable} must be '{NodeHost.ServiceId}' (the pods' orleans/serviceId label), not '{Shorten(serviceId)}'.";
            return false;
        }

        var clusterPrefix = options.ClusterPrefix;
        if (environment(ClusterIdVariable) is { Length: > 0 } clusterId)
        {
            if (clusterId.Length > 63 || !IsLabelValue(clusterId))
            {
                error = $"Invalid {ClusterIdVariable} '{Shorten(clusterId)}': a label value (letters, digits, '-', '_', '.'; at most 63 characters).";
                return false;
            }

            if (clusterPrefix != new NodeOptions().ClusterPrefix && clusterPrefix != clusterId)
            {
                error = $"--cluster-prefix '{clusterPrefix}' differs from {ClusterIdVariable} '{clusterId}' (the pods' orleans/clusterId label).";
                return false;
            }

            clusterPrefix = clusterId;
        }

        applied = options with { NodeName = podName, AdvertiseAddress = podIp, ClusterPrefix = clusterPrefix };
        error = "";
        return true;
    }

    private static string Shorten(string value) => value.Length <= 64 ? value : value[..64] + "...";

    // RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit.
    private static bool IsDnsLabel(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            var ok = c is (>= 'a' and <= 'z') or (>= '0' and <= '9') || (c == '-' && i > 0 && i < value.Length - 1);
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    // A Kubernetes label value: alphanumerics, '-', '_', '.', starting and ending with an alphanumeric.
    private static bool IsLabelValue(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            var alnum = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9');
            if (!alnum && (c is not ('-' or '_' or '.') || i == 0 || i == value.Length - 1))
            {
                return false;
            }
        }

        return true;
    }
}
