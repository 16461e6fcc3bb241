using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json.Nodes;
using ControlPlane.Domain.Policy;
using ControlPlane.Fleet;

namespace ControlPlane.Drills.Targets;

/// <summary>The Portkey gateway configuration of one workload class (sent as the <c>x-portkey-config</c> header) and
/// how to map the gateway's <c>x-portkey-last-used-option-index</c> answer header back to a fleet endpoint.</summary>
/// <param name="ClassName">The workload class.</param>
/// <param name="Json">The config, compact JSON.</param>
/// <param name="EndpointByOptionPath">Option path (<c>config.targets[1]</c>, <c>config.targets[0].targets[1]</c>) to
/// endpoint id.</param>
/// <param name="FallbackRankByOptionPath">Option path to its top-level position: 0 for the primaries, 1.. for the
/// fallbacks in order.</param>
/// <param name="RetryAttempts">The retries configured per target.</param>
internal sealed record PortkeyClassConfig(
    string ClassName,
    string Json,
    FrozenDictionary<string, string> EndpointByOptionPath,
    FrozenDictionary<string, int> FallbackRankByOptionPath,
    int RetryAttempts);

/// <summary>
/// Writes the Portkey configuration a careful operator would give the gateway for a workload class of the fleet, the
/// same chain the control plane routes over: the class's primaries first (a <c>loadbalance</c> group of equal weights
/// when it has several, as the control plane spreads over its primaries), then its approved fallbacks in order (those
/// that pass the class's quality gate and conditions, exactly the control plane's approval matrix; none for
/// <c>queue_only</c>/<c>fail</c> classes), under Portkey's <c>fallback</c> strategy with <c>on_status_codes</c>, retries
/// (<c>retry.attempts</c>, honouring <c>Retry-After</c>) and a per-attempt <c>request_timeout</c>. Each endpoint is an
/// <c>openai</c> or <c>anthropic</c> provider target whose <c>custom_host</c> is the simulator's endpoint.
/// Config keys: Portkey-AI/gateway v1.15.2 <c>src/middlewares/requestValidator/schema/config.ts</c>.
/// </summary>
internal static class PortkeyConfigBuilder
{
    /// <summary>The statuses that move Portkey's fallback to the next target: its retryable statuses plus 408 (the
    /// status its own <c>request_timeout</c> answers with).</summary>
    public static readonly IReadOnlyList<int> FallbackStatusCodes = [408, 429, 500, 502, 503, 504];

    /// <summary>The statuses Portkey retries on the same target (its default list, <c>src/globals.ts</c>
    /// <c>RETRY_STATUS_CODES</c>).</summary>
    public static readonly IReadOnlyList<int> RetryStatusCodes = [429, 500, 502, 503, 504];

    /// <summary>The key sent to simulator endpoints (the simulator checks none); a real provider's key comes from its
    /// upstream's <c>api_key_env</c>.</summary>
    public const string SimulatorApiKey = "simulator-no-key";

    /// <summary>Builds the configuration of <paramref name="className"/>.</summary>
    /// <exception cref="ArgumentException">The class is unknown, or one of its endpoints has no upstream.</exception>
    public static PortkeyClassConfig Build(
        FleetDefinition fleet,
        IReadOnlyDictionary<string, PortkeyUpstream> upstreams,
        string className,
        PortkeyTargetOptions options,
        Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        ArgumentNullException.ThrowIfNull(upstreams);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        environment ??= Environment.GetEnvironmentVariable;
        if (!fleet.TryGetClass(className, out var workloadClass))
        {
            throw new ArgumentException($"class '{className}' is not in the fleet", nameof(className));
        }

        var policy = workloadClass.Policy;
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        var ranks = new Dictionary<string, int>(StringComparer.Ordinal);
        var targets = new JsonArray();

        var primaries = policy.Primary.Where(id => !policy.Prohibited.Contains(id, StringComparer.Ordinal)).ToArray();
        if (primaries.Length == 0)
        {
            throw new ArgumentException($"class '{className}' has no primary endpoint", nameof(className));
        }

        if (primaries.Length == 1)
        {
            targets.Add(Target(primaries[0], upstreams, environment));
            paths["config.targets[0]"] = primaries[0];
            ranks["config.targets[0]"] = 0;
        }
        else
        {
            var group = new JsonArray();
            for (var i = 0; i < primaries.Length; i++)
            {
                var target = Target(primaries[i], upstreams, environment);
                target["weight"] = 1;
                group.Add(target);
                var path = string.Create(CultureInfo.InvariantCulture, $"config.targets[0].targets[{i}]");
                paths[path] = primaries[i];
                ranks[path] = 0;
            }

            targets.Add(new JsonObject { ["strategy"] = new JsonObject { ["mode"] = "loadbalance" }, ["targets"] = group });
        }

        if (policy.Mode == RoutingMode.AutoFallback)
        {
            foreach (var fallback in policy.Fallbacks)
            {
                if (!Approved(fleet, policy, fallback) || paths.ContainsValue(fallback.EndpointId))
                {
                    continue;
                }

                var path = string.Create(CultureInfo.InvariantCulture, $"config.targets[{targets.Count}]");
                paths[path] = fallback.EndpointId;
                ranks[path] = targets.Count;
                targets.Add(Target(fallback.EndpointId, upstreams, environment));
            }
        }

        var timeout = options.RequestTimeout ?? DefaultTimeout(workloadClass);
        var config = new JsonObject
        {
            ["strategy"] = new JsonObject { ["mode"] = "fallback", ["on_status_codes"] = Codes(FallbackStatusCodes) },
            ["retry"] = new JsonObject
            {
                ["attempts"] = options.RetryAttempts,
                ["on_status_codes"] = Codes(RetryStatusCodes),
                ["use_retry_after_header"] = true,
            },
            ["request_timeout"] = (long)timeout.TotalMilliseconds,
            ["targets"] = targets,
        };
        return new PortkeyClassConfig(
            className,
            config.ToJsonString(),
            paths.ToFrozenDictionary(StringComparer.Ordinal),
            ranks.ToFrozenDictionary(StringComparer.Ordinal),
            options.RetryAttempts);
    }

    /// <summary>The per-attempt timeout when none is configured: 2.5 x the class's p95 latency objective (the
    /// control plane's adaptive budget has 1.5 x headroom over the endpoint's p95), between 2 s and 10 min; 60 s (the
    /// control plane's default budget) for a class without a latency objective.</summary>
    public static TimeSpan DefaultTimeout(WorkloadClassDefinition workloadClass)
    {
        ArgumentNullException.ThrowIfNull(workloadClass);
        if (workloadClass.Slo.LatencyP95 is not { } p95)
        {
            return TimeSpan.FromSeconds(60);
        }

        var ms = Math.Clamp(p95.TotalMilliseconds * 2.5, 2_000, 600_000);
        return TimeSpan.FromMilliseconds(Math.Round(ms));
    }

    private static bool Approved(FleetDefinition fleet, WorkloadClassPolicy policy, FallbackApproval fallback) =>
        !policy.Prohibited.Contains(fallback.EndpointId, StringComparer.Ordinal)
        && policy.PassesQualityGate(fallback)
        && fleet.Catalog.TryGetValue(fallback.EndpointId, out var descriptor)
        && policy.Admits(descriptor);

    private static JsonObject Target(string endpointId, IReadOnlyDictionary<string, PortkeyUpstream> upstreams, Func<string, string?> environment)
    {
        if (!upstreams.TryGetValue(endpointId, out var upstream))
        {
            throw new ArgumentException($"endpoint '{endpointId}' has no entry in the upstreams file", nameof(upstreams));
        }

        var key = SimulatorApiKey;
        if (upstream.ApiKeyEnv is { } variable)
        {
            key = environment(variable) is { Length: > 0 } value
                ? value
                : throw new ArgumentException($"endpoint '{endpointId}': environment variable {variable} (api_key_env) is not set", nameof(upstreams));
        }

        return new JsonObject
        {
            ["provider"] = upstream.Api,
            ["api_key"] = key,
            ["custom_host"] = upstream.Url.AbsoluteUri.TrimEnd('/') + "/v1",
            ["override_params"] = new JsonObject { ["model"] = upstream.Model },
        };
    }

    private static JsonArray Codes(IReadOnlyList<int> codes)
    {
        var array = new JsonArray();
        foreach (var code in codes)
        {
            array.Add(code);
        }

        return array;
    }
}
