using System.Text.Json;
using System.Text.RegularExpressions;
using ControlPlane.Server.Deploy;
using ControlPlane.Server.Tests.Support;

namespace ControlPlane.Server.Tests.Deploy;

/// <summary>The Kubernetes manifests (deploy/k8s): every overlay renders with kubectl kustomize and validates against the
/// Kubernetes schemas offline, and the rendered objects hold what the schemas cannot say: non-root containers, gRPC
/// probes, resources, a NetworkPolicy keeping the admin and Orleans ports private, Orleans' RBAC and pod identity, a
/// fleet the real loader accepts, arguments the real node parser accepts.</summary>
public sealed partial class KustomizeOverlayTests
{
    private const int GrpcPort = 50051;
    private const int AdminPort = 8080;
    private const int SiloPort = 11111;
    private const int GatewayPort = 30000;

    public static TheoryData<string> Regions => new(RenderedOverlay.Regions);

    [Theory]
    [MemberData(nameof(Regions))]
    public void Overlay_renders_and_every_object_validates_against_the_Kubernetes_schemas(string region)
    {
        var overlay = RenderedOverlay.For(region);

        Assert.True(overlay.ValidateExitCode == 0, $"kubernetes-models validation of {region}:\n{overlay.ValidateErrors}");
        var kinds = overlay.Objects.Select(RenderedOverlay.Kind).ToHashSet();
        Assert.Superset(new HashSet<string>
        {
            "Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "ServiceAccount", "Role", "RoleBinding",
        }, kinds);
        Assert.All(overlay.Objects, o => Assert.Equal("controlplane", o.GetProperty("metadata").GetProperty("namespace").GetString()));
    }

    [Theory]
    [MemberData(nameof(Regions))]
    public void Every_container_runs_as_non_root_without_privilege_escalation_on_a_read_only_root(string region)
    {
        var pod = PodSpec(RenderedOverlay.For(region));
        var podSecurity = pod.GetProperty("securityContext");

        foreach (var container in Containers(pod))
        {
            var security = container.GetProperty("securityContext");
            var nonRoot = Bool(security, "runAsNonRoot") ?? Bool(podSecurity, "runAsNonRoot");
            var user = Int(security, "runAsUser") ?? Int(podSecurity, "runAsUser");
            Assert.True(nonRoot, $"{Name(container)}: runAsNonRoot");
            Assert.True(user is > 0, $"{Name(container)}: runAsUser must be a non-zero UID");
            Assert.False(Bool(security, "allowPrivilegeEscalation") ?? true, $"{Name(container)}: allowPrivilegeEscalation");
            Assert.True(Bool(security, "readOnlyRootFilesystem"), $"{Name(container)}: readOnlyRootFilesystem");
            Assert.Contains("ALL", security.GetProperty("capabilities").GetProperty("drop").EnumerateArray().Select(e => e.GetString()));
        }
    }

    [Theory]
    [MemberData(nameof(Regions))]
    public void Readiness_liveness_and_startup_probe_gRPC_health_on_the_data_plane_port(string region)
    {
        var container = Assert.Single(Containers(PodSpec(RenderedOverlay.For(region))));
        var grpcPort = ContainerPort(container, "grpc");

        Assert.Equal(GrpcPort, grpcPort);
        Assert.Equal(GrpcPort, ListenPort(Args(container), "--grpc-listen"));
        foreach (var probe in new[] { "readinessProbe", "livenessProbe", "startupProbe" })
        {
            Assert.True(container.TryGetProperty(probe, out var p), $"{probe} missing");
            // Native gRPC probes call grpc.health.v1.Health/Check (service ""), which the node answers anonymously.
            Assert.Equal(grpcPort, p.GetProperty("grpc").GetProperty("port").GetInt32());
        }
    }

    [Theory]
    [MemberData(nameof(Regions))]
    public void Every_container_has_cpu_and_memory_requests_and_limits(string region)
    {
        foreach (var container in Containers(PodSpec(RenderedOverlay.For(region))))
        {
            var resources = container.GetProperty("resources");
            foreach (var bound in new[] { "requests", "limits" })
            {
                foreach (var resource in new[] { "cpu", "memory" })
                {
                    Assert.True(resources.TryGetProperty(bound, out var b) && b.TryGetProperty(resource, out _), $"{Name(container)}: resources.{bound}.{resource}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Regions))]
    public void NetworkPolicy_keeps_the_admin_listener_and_the_silo_and_gateway_ports_private(string region)
    {
        var overlay = RenderedOverlay.For(region);
        var deployment = overlay.Single("Deployment", "controlplane");
        var podLabels = Labels(deployment.GetProperty("spec").GetProperty("template").GetProperty("metadata"));
        var container = Assert.Single(Containers(PodSpec(overlay)));
        var args = Args(container);
        Assert.Equal(AdminPort, ListenPort(args, "--admin-listen"));
        Assert.Equal(SiloPort, int.Parse(Option(args, "--silo-port")!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(GatewayPort, int.Parse(Option(args, "--gateway-port")!, System.Globalization.CultureInfo.InvariantCulture));

        var policies = overlay.OfKind("NetworkPolicy").Where(p => Selects(p.GetProperty("spec").GetProperty("podSelector"), podLabels)).ToList();
        Assert.NotEmpty(policies);
        Assert.All(policies, p => Assert.Contains("Ingress", p.GetProperty("spec").GetProperty("policyTypes").EnumerateArray().Select(e => e.GetString())));
        var rules = policies.SelectMany(p => p.GetProperty("spec").TryGetProperty("ingress", out var i) ? i.EnumerateArray() : Enumerable.Empty<JsonElement>()).ToList();

        // A rule without ports admits every port; a rule without peers admits everyone.
        Assert.All(rules, r => Assert.True(r.TryGetProperty("ports", out var ports) && ports.GetArrayLength() > 0, "an ingress rule without ports opens every port"));
        foreach (var port in new[] { AdminPort, SiloPort, GatewayPort })
        {
            var admitting = rules.Where(r => r.GetProperty("ports").EnumerateArray().Any(p => p.GetProperty("port").GetInt32() == port)).ToList();
            Assert.NotEmpty(admitting);
            foreach (var rule in admitting)
            {
                Assert.True(rule.TryGetProperty("from", out var from) && from.GetArrayLength() > 0, $"port {port}: a rule without 'from' admits every source");
                foreach (var peer in from.EnumerateArray())
                {
                    Assert.False(peer.TryGetProperty("ipBlock", out _), $"port {port}: no ipBlock peers");
                    var pods = peer.TryGetProperty("podSelector", out var ps) ? ps : (JsonElement?)null;
                    var namespaces = peer.TryGetProperty("namespaceSelector", out var ns) ? ns : (JsonElement?)null;
                    Assert.False(namespaces is { } n && IsEmptySelector(n) && (pods is null || IsEmptySelector(pods.Value)), $"port {port}: a peer admitting every namespace");
                    Assert.False(namespaces is null && pods is { } p && IsEmptySelector(p), $"port {port}: a peer admitting every pod of the namespace");
                }
            }
        }

        // The silo and gateway ports: only the controlplane pods themselves (same namespace, the workload's labels).
        foreach (var port in new[] { SiloPort, GatewayPort })
        {
            foreach (var rule in rules.Where(r => r.GetProperty("ports").EnumerateArray().Any(p => p.GetProperty("port").GetInt32() == port)))
            {
                Assert.All(rule.GetProperty("from").EnumerateArray(), peer =>
                {
                    Assert.False(peer.TryGetProperty("namespaceSelector", out _), $"port {port}: other namespaces");
                    Assert.True(Selects(peer.GetProperty("podSelector"), podLabels) && !IsEmptySelector(peer.GetProperty("podSelector")), $"port {port}: only controlplane pods");
                });
            }
        }

        // The data plane stays reachable for the proxies.
        Assert.Contains(rules, r => r.GetProperty("ports").EnumerateArray().Any(p => p.GetProperty("port").GetInt32() == GrpcPort));
    }

    [Theory]
    [MemberData(nameof(Regions))]
    public void The_pods_service_account_may_do_what_Orleans_Kubernetes_hosting_does_to_pods(string region)
    {
        var overlay = RenderedOverlay.For(region);
        var account = PodSpec(overlay).GetProperty("serviceAccountName").GetString();
        overlay.Single("ServiceAccount", account!);
        var binding = Assert.Single(overlay.OfKind("RoleBinding"), b => b.GetProperty("subjects").EnumerateArray()
            .Any(s => s.GetProperty("kind").GetString() == "ServiceAccount" && s.GetProperty("name").GetString() == account
                && s.GetProperty("namespace").GetString() == "controlplane"));
        var roleRef = binding.GetProperty("roleRef");
        Assert.Equal("Role", roleRef.GetProperty("kind").GetString());
        var role = overlay.Single("Role", roleRef.GetProperty("name").GetString()!);

        // KubernetesClusterAgent: ReadNamespacedPod + PatchNamespacedPod (its labels), ListNamespacedPod with watch,
        // DeleteNamespacedPod (a dead silo's pod).
        var verbs = role.GetProperty("rules").EnumerateArray()
            .Where(r => r.GetProperty("apiGroups").EnumerateArray().Any(g => g.GetString() == "") && r.GetProperty("resources").EnumerateArray().Any(x => x.GetString() == "pods"))
            .SelectMany(r => r.GetProperty("verbs").EnumerateArray().Select(v => v.GetString()!)).ToHashSet();
        Assert.Superset(new HashSet<string> { "get", "list", "watch", "patch", "delete" }, verbs);
    }

    [Theory]
    [MemberData(nameof(Regions))]
    public void Pod_identity_and_arguments_are_accepted_by_the_real_node_parser(string region)
    {
        var overlay = RenderedOverlay.For(region);
        var deployment = overlay.Single("Deployment", "controlplane");
        var template = deployment.GetProperty("spec").GetProperty("template");
        var labels = Labels(template.GetProperty("metadata"));
        var container = Assert.Single(Containers(PodSpec(overlay)));
        var env = container.GetProperty("env").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!);

        Assert.Equal(NodeHost.ServiceId, labels["orleans/serviceId"]);
        Assert.Equal($"cp-{region}", labels["orleans/clusterId"]);
        Assert.Equal("metadata.name", FieldRef(env[NodeEnvironment.PodNameVariable]));
        Assert.Equal("metadata.namespace", FieldRef(env["POD_NAMESPACE"]));
        Assert.Equal("status.podIP", FieldRef(env[NodeEnvironment.PodIpVariable]));
        Assert.Equal("metadata.labels['orleans/serviceId']", FieldRef(env[NodeEnvironment.ServiceIdVariable]));
        Assert.Equal("metadata.labels['orleans/clusterId']", FieldRef(env[NodeEnvironment.ClusterIdVariable]));
        // Credentials come from the Secret, never from the manifests.
        foreach (var secret in new[] { NodeOptions.AdminKeyVariable, NodeOptions.DecisionKeyVariable, NodeEnvironment.RedisPasswordVariable })
        {
            Assert.Equal("controlplane-secrets", env[secret].GetProperty("valueFrom").GetProperty("secretKeyRef").GetProperty("name").GetString());
        }

        // What the kubelet would run: $(VAR) expanded from the pod's environment (downward API and ConfigMap values).
        var regionConfig = overlay.Single("ConfigMap", "controlplane-region", prefix: true).GetProperty("data");
        var podEnvironment = new Dictionary<string, string>
        {
            [NodeEnvironment.PodNameVariable] = "controlplane-7d9f8-x2x4q",
            ["POD_NAMESPACE"] = "controlplane",
            [NodeEnvironment.PodIpVariable] = "10.12.3.4",
            [NodeEnvironment.ServiceIdVariable] = labels["orleans/serviceId"],
            [NodeEnvironment.ClusterIdVariable] = labels["orleans/clusterId"],
        };
        foreach (var (name, variable) in env)
        {
            if (variable.TryGetProperty("valueFrom", out var from) && from.TryGetProperty("configMapKeyRef", out var key))
            {
                Assert.StartsWith(key.GetProperty("name").GetString()!, RenderedOverlay.Name(overlay.Single("ConfigMap", "controlplane-region", prefix: true)), StringComparison.Ordinal);
                podEnvironment[name] = regionConfig.GetProperty(key.GetProperty("key").GetString()!).GetString()!;
            }
        }

        var args = Args(container).Select(a => VariableReference().Replace(a, m => podEnvironment[m.Groups[1].Value])).ToList();
        Assert.True(NodeOptions.TryParse(args, out var options, out var error), error);
        Assert.True(NodeEnvironment.TryApply(options, n => podEnvironment.GetValueOrDefault(n), out options, out error), error);

        Assert.True(options.Kubernetes);
        Assert.Equal(NodeRole.Both, options.Role);
        Assert.Equal(podEnvironment[NodeEnvironment.PodNameVariable], options.NodeName);
        Assert.Equal("10.12.3.4", options.AdvertiseAddress);
        Assert.Equal($"cp-{region}", options.ClusterPrefix);
        Assert.Equal(regionConfig.GetProperty("redis").GetString(), options.RedisEndpoint);
        Assert.Contains(region, options.RedisEndpoint, StringComparison.Ordinal);
        Assert.Equal("/etc/controlplane/fleet/fleet.yaml", options.FleetPath);
    }

    [Theory]
    [MemberData(nameof(Regions))]
    public void The_mounted_fleet_ConfigMap_is_the_sample_fleet_and_loads_with_the_real_fleet_loader(string region)
    {
        var overlay = RenderedOverlay.For(region);
        var pod = PodSpec(overlay);
        var container = Assert.Single(Containers(pod));
        var fleetPath = Option(Args(container), "--fleet")!;
        var mount = Assert.Single(container.GetProperty("volumeMounts").EnumerateArray(), m => fleetPath.StartsWith(m.GetProperty("mountPath").GetString() + "/", StringComparison.Ordinal));
        var volume = Assert.Single(pod.GetProperty("volumes").EnumerateArray(), v => v.GetProperty("name").GetString() == mount.GetProperty("name").GetString());
        var configMap = overlay.Single("ConfigMap", volume.GetProperty("configMap").GetProperty("name").GetString()!);
        var key = Path.GetRelativePath(mount.GetProperty("mountPath").GetString()!, fleetPath);
        var text = configMap.GetProperty("data").GetProperty(key).GetString()!;

        Assert.Equal(File.ReadAllText(Path.Combine(RepositoryLayout.Root, "deploy", "fleet.sample.yaml")), text);
        var file = Path.Combine(Directory.CreateTempSubdirectory("cp-fleet-").FullName, key);
        try
        {
            File.WriteAllText(file, text);
            var fleet = FleetLocator.Load(file);
            Assert.NotEmpty(fleet.Endpoints);
            Assert.NotEmpty(fleet.Classes);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }

    [Fact]
    public void The_fleet_components_copy_is_identical_to_the_sample_fleet()
    {
        // kustomize reads only files under a kustomization's folder: deploy/k8s/components/fleet holds a copy.
        var sample = File.ReadAllText(Path.Combine(RepositoryLayout.Root, "deploy", "fleet.sample.yaml"));
        var copy = File.ReadAllText(Path.Combine(RepositoryLayout.Root, "deploy", "k8s", "components", "fleet", "fleet.yaml"));

        Assert.True(sample == copy, "deploy/k8s/components/fleet/fleet.yaml differs from deploy/fleet.sample.yaml: run `cp deploy/fleet.sample.yaml deploy/k8s/components/fleet/fleet.yaml`.");
    }

    [Theory]
    [MemberData(nameof(Regions))]
    public void The_Prometheus_rules_are_wired_in_as_a_ConfigMap(string region)
    {
        var overlay = RenderedOverlay.For(region);
        var rules = overlay.Single("ConfigMap", "controlplane-prometheus-rules");
        var text = rules.GetProperty("data").GetProperty("controlplane-rules.yaml").GetString()!;

        if (!overlay.RulesStubbed)
        {
            Assert.Equal(File.ReadAllText(RenderedOverlay.RulesFile), text);
        }
    }

    [Theory]
    [MemberData(nameof(Regions))]
    public void Services_PDB_and_HPA_point_at_the_silo_workload(string region)
    {
        var overlay = RenderedOverlay.For(region);
        var deployment = overlay.Single("Deployment", "controlplane");
        var podLabels = Labels(deployment.GetProperty("spec").GetProperty("template").GetProperty("metadata"));
        var container = Assert.Single(Containers(PodSpec(overlay)));

        var grpc = overlay.Single("Service", "controlplane-grpc").GetProperty("spec");
        var admin = overlay.Single("Service", "controlplane-admin").GetProperty("spec");
        foreach (var (service, portName) in new[] { (grpc, "grpc"), (admin, "admin") })
        {
            Assert.True(Selects(service.GetProperty("selector"), podLabels, isLabelMap: true));
            var port = Assert.Single(service.GetProperty("ports").EnumerateArray());
            Assert.Equal(portName, port.GetProperty("targetPort").GetString());
            ContainerPort(container, portName);
            Assert.NotEqual("LoadBalancer", service.TryGetProperty("type", out var t) ? t.GetString() : "ClusterIP");
        }

        var pdb = overlay.Single("PodDisruptionBudget", "controlplane").GetProperty("spec");
        Assert.True(Selects(pdb.GetProperty("selector"), podLabels));
        Assert.Equal(1, pdb.GetProperty("maxUnavailable").GetInt32());

        var hpa = overlay.Single("HorizontalPodAutoscaler", "controlplane").GetProperty("spec");
        Assert.Equal("Deployment", hpa.GetProperty("scaleTargetRef").GetProperty("kind").GetString());
        Assert.Equal("controlplane", hpa.GetProperty("scaleTargetRef").GetProperty("name").GetString());
        Assert.True(hpa.GetProperty("minReplicas").GetInt32() >= 2, "one silo is no cluster: at least 2");
        Assert.True(hpa.GetProperty("maxReplicas").GetInt32() >= hpa.GetProperty("minReplicas").GetInt32());
        // The HPA owns the replica count: a replicas field in the Deployment would reset it to that value on every apply.
        Assert.False(deployment.GetProperty("spec").TryGetProperty("replicas", out _), "the Deployment must leave replicas to the HPA");
    }

    [Fact]
    public void Each_region_has_its_own_Redis_and_Orleans_cluster_id()
    {
        var redis = RenderedOverlay.Regions.Select(r => RenderedOverlay.For(r).Single("ConfigMap", "controlplane-region", prefix: true).GetProperty("data").GetProperty("redis").GetString()).ToList();
        var clusters = RenderedOverlay.Regions.Select(r => Labels(RenderedOverlay.For(r).Single("Deployment", "controlplane").GetProperty("spec").GetProperty("template").GetProperty("metadata"))["orleans/clusterId"]).ToList();

        Assert.Equal(redis.Count, redis.Distinct().Count());
        Assert.Equal(clusters.Count, clusters.Distinct().Count());
    }

    private static JsonElement PodSpec(RenderedOverlay overlay) =>
        overlay.Single("Deployment", "controlplane").GetProperty("spec").GetProperty("template").GetProperty("spec");

    private static IEnumerable<JsonElement> Containers(JsonElement pod) =>
        pod.GetProperty("containers").EnumerateArray().Concat(pod.TryGetProperty("initContainers", out var init) ? init.EnumerateArray() : []);

    private static string Name(JsonElement container) => container.GetProperty("name").GetString()!;

    private static List<string> Args(JsonElement container) => container.GetProperty("args").EnumerateArray().Select(a => a.GetString()!).ToList();

    private static string? Option(IEnumerable<string> args, string name) =>
        args.Where(a => a.StartsWith(name + "=", StringComparison.Ordinal)).Select(a => a[(name.Length + 1)..]).SingleOrDefault();

    private static int ListenPort(IEnumerable<string> args, string name)
    {
        Assert.True(NodeOptions.TryParseEndpoint(Option(args, name)!, out var endpoint, out var error, name), error);
        return endpoint.Port;
    }

    private static int ContainerPort(JsonElement container, string name) =>
        Assert.Single(container.GetProperty("ports").EnumerateArray(), p => p.GetProperty("name").GetString() == name).GetProperty("containerPort").GetInt32();

    private static string? FieldRef(JsonElement variable) =>
        variable.GetProperty("valueFrom").GetProperty("fieldRef").GetProperty("fieldPath").GetString();

    private static Dictionary<string, string> Labels(JsonElement metadata) =>
        metadata.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);

    private static bool? Bool(JsonElement e, string name) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v.GetBoolean() : null;

    private static long? Int(JsonElement e, string name) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v.GetInt64() : null;

    private static bool IsEmptySelector(JsonElement selector) =>
        !selector.EnumerateObject().Any(p => p.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array && p.Value.EnumerateAny().Any());

    /// <summary>Whether a label selector (matchLabels only; matchExpressions are not used here) or a Service's label map
    /// selects pods carrying <paramref name="labels"/>.</summary>
    private static bool Selects(JsonElement selector, IReadOnlyDictionary<string, string> labels, bool isLabelMap = false)
    {
        Assert.False(selector.TryGetProperty("matchExpressions", out _), "selectors here use matchLabels");
        var map = isLabelMap ? selector : selector.TryGetProperty("matchLabels", out var m) ? m : default;
        return map.ValueKind != JsonValueKind.Object || map.EnumerateObject().All(p => labels.TryGetValue(p.Name, out var v) && v == p.Value.GetString());
    }

    [GeneratedRegex(@"\$\(([A-Z_][A-Z0-9_]*)\)")]
    private static partial Regex VariableReference();
}

internal static class JsonElementExtensions
{
    /// <summary>The members of an object or the items of an array.</summary>
    public static IEnumerable<JsonElement> EnumerateAny(this JsonElement e) =>
        e.ValueKind == JsonValueKind.Object ? e.EnumerateObject().Select(p => p.Value) : e.EnumerateArray();
}
