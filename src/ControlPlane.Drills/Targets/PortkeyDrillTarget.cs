using System.Globalization;

namespace ControlPlane.Drills.Targets;

/// <summary>
/// One Portkey AI gateway replica as a drill target (docs/comparison.md). Portkey has no notion of a workload class: a
/// request names its class by carrying that class's configuration (<c>x-portkey-config</c>, written by
/// <see cref="PortkeyConfigBuilder"/> from the fleet and the simulator's upstreams), as an application in front of a
/// Portkey gateway does. Which endpoint served an answer comes from the gateway's
/// <c>x-portkey-last-used-option-index</c> header (<c>config.targets[1]</c>), mapped back through that configuration.
/// </summary>
internal sealed class PortkeyDrillTarget : IDrillTarget
{
    /// <summary>The request header carrying the configuration.</summary>
    public const string ConfigHeader = "x-portkey-config";

    /// <summary>The answer header naming the target (option path) that produced it.</summary>
    public const string OptionHeader = "x-portkey-last-used-option-index";

    /// <summary>The answer header counting the retries on the target that produced it.</summary>
    public const string RetryCountHeader = "x-portkey-retry-attempt-count";

    private readonly IReadOnlyDictionary<string, PortkeyClassConfig> _configs;
    private readonly Dictionary<string, PortkeyClassConfig> _configsByJson;

    /// <summary>Creates the target for the replica at <paramref name="baseUri"/>.</summary>
    public PortkeyDrillTarget(Uri baseUri, IReadOnlyDictionary<string, PortkeyClassConfig> configs, string name = "portkey")
    {
        ArgumentNullException.ThrowIfNull(baseUri);
        ArgumentNullException.ThrowIfNull(configs);
        BaseUri = baseUri.AbsoluteUri.EndsWith('/') ? baseUri : new Uri(baseUri.AbsoluteUri + "/");
        Name = name;
        _configs = configs;
        _configsByJson = configs.Values.GroupBy(c => c.Json, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public Uri BaseUri { get; }

    /// <inheritdoc/>
    public void Prepare(HttpRequestMessage request, string workloadClass, string expect)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Portkey grades nothing (expect is not sent). A class without a configuration gets none and the gateway
        // answers 400 (the drill counts it as failed).
        if (_configs.TryGetValue(workloadClass, out var config))
        {
            request.Headers.TryAddWithoutValidation(ConfigHeader, config.Json);
        }
    }

    /// <inheritdoc/>
    public ServedBy Read(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (Header(response, OptionHeader) is not { } path
            || response.RequestMessage is null
            || !response.RequestMessage.Headers.TryGetValues(ConfigHeader, out var sent)
            || !_configsByJson.TryGetValue(sent.FirstOrDefault() ?? "", out var config)
            || !config.EndpointByOptionPath.TryGetValue(path, out var endpoint))
        {
            return new ServedBy(null, null, 1);
        }

        var rank = config.FallbackRankByOptionPath[path];
        var retries = Header(response, RetryCountHeader) is { } text
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= PortkeyTargetOptions.MaxRetryAttempts ? n : 0;
        // Inferred: Portkey reports only the last target's retry count; each earlier target failed with a status it
        // retries, so it took 1 + retry.attempts attempts.
        var attempts = (rank * (config.RetryAttempts + 1)) + retries + 1;
        return new ServedBy(endpoint, rank == 0 ? "primary" : "fallback", attempts);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() is { Length: > 0 and <= 256 } v ? v : null : null;
}
