using ControlPlane.Fleet.Yaml;

namespace ControlPlane.Fleet;

/// <summary>Reads an endpoint's pin settings (<c>accepted_alias</c>, <c>on_model_change</c>) and refuses a
/// <c>model_version</c> that is an alias the provider can repoint, unless the endpoint accepts it explicitly.</summary>
internal static class ModelPinReader
{
    private const string AcceptedAliasKey = "accepted_alias";
    private const string OnModelChangeKey = "on_model_change";

    /// <summary>The endpoint keys this reader owns.</summary>
    public static readonly string[] Keys = [AcceptedAliasKey, OnModelChangeKey];

    /// <summary>Floating names providers repoint at will: a bare one is never a pin.</summary>
    private static readonly string[] FloatingNames = ["latest", "current", "stable", "default", "newest"];

    /// <summary>Separators after which a floating name marks an alias (<c>gpt-4o-latest</c>, <c>llama3:latest</c>).</summary>
    private static readonly char[] Separators = ['-', ':', '@', '/', '.', '_'];

    /// <summary>Reads the pin settings and checks <paramref name="modelVersion"/> (with its node, for the error position).</summary>
    public static (bool AcceptedAlias, ModelChangeAction OnModelChange) Read(MappingReader endpoint, string model, string modelVersion, ConfigErrorSink errors)
    {
        bool accepted = false;
        if (endpoint.Optional(AcceptedAliasKey) is { } acceptedNode)
        {
            accepted = YamlBooleans.Read(acceptedNode, endpoint.Child(AcceptedAliasKey), errors);
        }

        var action = ModelChangeAction.Alert;
        if (endpoint.Optional(OnModelChangeKey) is { } actionNode
            && ScalarValues.TryString(actionNode, endpoint.Child(OnModelChangeKey), errors, out string name))
        {
            switch (name)
            {
                case "alert":
                    action = ModelChangeAction.Alert;
                    break;
                case "drain":
                    action = ModelChangeAction.Drain;
                    break;
                default:
                    errors.Add(actionNode, endpoint.Child(OnModelChangeKey), $"unknown action '{name}'; expected one of alert, drain");
                    break;
            }
        }

        if (!accepted && endpoint.Optional("model_version") is ScalarNode versionNode && AliasReason(model, modelVersion) is { } why)
        {
            errors.Add(versionNode, endpoint.Child("model_version"),
                $"'{modelVersion}' is not a pinned version: {why}; pin a dated or numbered version (e.g. gpt-4o-2024-08-06) or set accepted_alias: true");
        }

        return (accepted, action);
    }

    /// <summary>Why <paramref name="version"/> is an alias rather than a pinned version, or null when it is a pin.</summary>
    public static string? AliasReason(string model, string version)
    {
        if (version.Length == 0)
        {
            return null;
        }

        if (version.Contains('*', StringComparison.Ordinal))
        {
            return "a wildcard matches whatever the provider serves";
        }

        foreach (var floating in FloatingNames)
        {
            if (version.Equals(floating, StringComparison.OrdinalIgnoreCase))
            {
                return $"'{floating}' is an alias the provider repoints";
            }

            if (version.Length > floating.Length
                && version.EndsWith(floating, StringComparison.OrdinalIgnoreCase)
                && Array.IndexOf(Separators, version[^(floating.Length + 1)]) >= 0)
            {
                return $"a '{version[^(floating.Length + 1)]}{floating}' suffix is an alias the provider repoints";
            }
        }

        if (model.Length > 0 && version.Equals(model, StringComparison.OrdinalIgnoreCase))
        {
            return "the bare model name is an alias for whatever version the provider serves under it";
        }

        return null;
    }
}
