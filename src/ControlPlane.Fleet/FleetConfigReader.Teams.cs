using System.Collections.Immutable;
using System.Text.RegularExpressions;
using ControlPlane.Domain.Slo;
using ControlPlane.Fleet.Yaml;

namespace ControlPlane.Fleet;

/// <summary>The top-level <c>teams:</c> list and <c>alerting.runbook_base_url</c>: where alerts are delivered.</summary>
internal sealed partial class FleetConfigReader
{
    /// <summary>Most teams a fleet may list.</summary>
    internal const int MaxTeams = 256;

    /// <summary>Most receivers a team may have.</summary>
    internal const int MaxReceiversPerTeam = 8;

    /// <summary>Longest URL (receiver or runbook base) accepted.</summary>
    internal const int MaxUrlLength = 2048;

    /// <summary>Longest inline routing key or on-call text accepted.</summary>
    internal const int MaxShortText = 256;

    private static readonly string[] TeamKeys = ["name", "on_call", "receivers"];
    private static readonly string[] ReceiverKeys = ["type", "name", "url", "url_env", "routing_key", "routing_key_env", "kinds", "min_severity"];

    private AlertingDefinition ReadAlertingAndTeams(MappingReader top)
    {
        string runbookBase = AlertingDefinition.DefaultRunbookBaseUrl;
        // `alerting.thresholds` belongs to the alert rules; this part reads only where runbooks live.
        // The mapping itself (and its unknown keys) was read once by ReadAlerting.
        if (_alertingSection is { } alerting
            && alerting.Optional("runbook_base_url") is { } baseNode
            && ScalarValues.TryString(baseNode, alerting.Child("runbook_base_url"), _errors, out string url))
        {
            if (url.Length > MaxUrlLength)
            {
                _errors.Add(baseNode, alerting.Child("runbook_base_url"), $"must be at most {MaxUrlLength} characters");
            }
            else if (Uri.TryCreate(url, UriKind.Absolute, out var absolute) && absolute.Scheme is not ("http" or "https"))
            {
                _errors.Add(baseNode, alerting.Child("runbook_base_url"), $"must be an http(s) URL or a relative path, got scheme '{absolute.Scheme}'");
            }
            else
            {
                runbookBase = url;
            }
        }

        return new AlertingDefinition(runbookBase, ReadTeams(top));
    }

    private ImmutableArray<AlertTeam> ReadTeams(MappingReader top)
    {
        if (top.Optional("teams") is not { } node || ScalarValues.TryList(node, top.Child("teams"), _errors) is not { } items)
        {
            return [];
        }

        if (items.Count > MaxTeams)
        {
            _errors.Add(node, top.Child("teams"), $"at most {MaxTeams} teams, got {items.Count}");
            return [];
        }

        var teams = ImmutableArray.CreateBuilder<AlertTeam>(items.Count);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < items.Count; i++)
        {
            string path = NamedPath(items[i], "teams", i, "name");
            if (MappingReader.Create(items[i], path, _errors, TeamKeys) is not { } team)
            {
                continue;
            }

            if (team.Required("name") is not { } nameNode || !ScalarValues.TryIdentifier(nameNode, team.Child("name"), _errors, out string name))
            {
                continue;
            }

            if (seen.TryGetValue(name, out int firstLine))
            {
                _errors.Add(nameNode, team.Child("name"), $"duplicate team '{name}'; first defined at line {firstLine}");
                continue;
            }

            seen.Add(name, nameNode.Position.Line);
            string onCall = "";
            if (team.Optional("on_call") is { } onCallNode && ScalarValues.TryString(onCallNode, team.Child("on_call"), _errors, out onCall)
                && onCall.Length > MaxShortText)
            {
                _errors.Add(onCallNode, team.Child("on_call"), $"must be at most {MaxShortText} characters");
            }

            teams.Add(new AlertTeam(name, onCall, ReadReceivers(team)));
        }

        return teams.ToImmutable();
    }

    private ImmutableArray<AlertReceiverDefinition> ReadReceivers(MappingReader team)
    {
        if (team.Optional("receivers") is not { } node || ScalarValues.TryList(node, team.Child("receivers"), _errors) is not { } items)
        {
            return [];
        }

        if (items.Count > MaxReceiversPerTeam)
        {
            _errors.Add(node, team.Child("receivers"), $"at most {MaxReceiversPerTeam} receivers per team, got {items.Count}");
            return [];
        }

        var receivers = ImmutableArray.CreateBuilder<AlertReceiverDefinition>(items.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < items.Count; i++)
        {
            string path = $"{team.Child("receivers")}[{i}]";
            if (MappingReader.Create(items[i], path, _errors, ReceiverKeys) is { } reader && ReadReceiver(reader, i) is { } receiver)
            {
                if (!names.Add(receiver.Name))
                {
                    _errors.Add(items[i], path, $"duplicate receiver name '{receiver.Name}'");
                    continue;
                }

                receivers.Add(receiver);
            }
        }

        return receivers.ToImmutable();
    }

    private AlertReceiverDefinition? ReadReceiver(MappingReader reader, int index)
    {
        int errorsBefore = _errors.Count;
        AlertReceiverType? type = null;
        if (reader.Required("type") is { } typeNode && ScalarValues.TryString(typeNode, reader.Child("type"), _errors, out string typeName))
        {
            type = typeName switch
            {
                "webhook" => AlertReceiverType.Webhook,
                "slack" => AlertReceiverType.Slack,
                "pagerduty" => AlertReceiverType.PagerDuty,
                _ => null,
            };
            if (type is null)
            {
                _errors.Add(typeNode, reader.Child("type"), $"unknown receiver type '{typeName}'; expected one of webhook, slack, pagerduty");
            }
        }

        string? name = null;
        if (reader.Optional("name") is { } nameNode && ScalarValues.TryIdentifier(nameNode, reader.Child("name"), _errors, out string n))
        {
            name = n;
        }

        var (url, urlEnv) = ReadSecretPair(reader, "url", "url_env", required: true, isUrl: true);
        string? routingKey = null, routingKeyEnv = null;
        if (type == AlertReceiverType.PagerDuty)
        {
            (routingKey, routingKeyEnv) = ReadSecretPair(reader, "routing_key", "routing_key_env", required: true, isUrl: false);
        }
        else
        {
            foreach (string key in (string[])["routing_key", "routing_key_env"])
            {
                if (reader.Optional(key) is { } misplaced)
                {
                    _errors.Add(misplaced, reader.Child(key), "only a pagerduty receiver takes a routing key");
                }
            }
        }

        var kinds = ReadKinds(reader, type == AlertReceiverType.PagerDuty ? AlertReceiverKinds.Tactical : AlertReceiverKinds.Both);
        var minSeverity = ReadMinSeverity(reader);
        if (type is not { } t || _errors.Count > errorsBefore)
        {
            return null;
        }

        return new AlertReceiverDefinition
        {
            Type = t,
            Name = name ?? $"{AlertReceiverDefinition.TypeNameOf(t)}-{index}",
            Url = url,
            UrlEnv = urlEnv,
            RoutingKey = routingKey,
            RoutingKeyEnv = routingKeyEnv,
            Kinds = kinds,
            MinSeverity = minSeverity,
        };
    }

    // Exactly one of an inline value and the name of the environment variable holding it.
    private (string? Value, string? Env) ReadSecretPair(MappingReader reader, string key, string envKey, bool required, bool isUrl)
    {
        var valueNode = reader.Optional(key);
        var envNode = reader.Optional(envKey);
        if (valueNode is not null && envNode is not null)
        {
            _errors.Add(envNode, reader.Child(envKey), $"give either '{key}' or '{envKey}', not both");
            return (null, null);
        }

        if (valueNode is null && envNode is null)
        {
            if (required)
            {
                _errors.Add(reader.Node, reader.Child(key), $"is required (or '{envKey}' naming an environment variable)");
            }

            return (null, null);
        }

        if (envNode is not null)
        {
            if (!ScalarValues.TryString(envNode, reader.Child(envKey), _errors, out string env))
            {
                return (null, null);
            }

            if (!EnvironmentVariableName().IsMatch(env))
            {
                _errors.Add(envNode, reader.Child(envKey), $"'{env}' is not an environment variable name: letters, digits and '_' (at most 128), not starting with a digit");
                return (null, null);
            }

            return (null, env);
        }

        if (!ScalarValues.TryString(valueNode!, reader.Child(key), _errors, out string value))
        {
            return (null, null);
        }

        string? problem = isUrl ? AlertUrls.Problem(value) : value.Length > MaxShortText ? $"must be at most {MaxShortText} characters" : null;
        if (problem is not null)
        {
            _errors.Add(valueNode!, reader.Child(key), problem);
            return (null, null);
        }

        return (value, null);
    }

    private AlertReceiverKinds ReadKinds(MappingReader reader, AlertReceiverKinds fallback)
    {
        if (reader.Optional("kinds") is not { } node || ScalarValues.TryList(node, reader.Child("kinds"), _errors) is not { } items)
        {
            return fallback;
        }

        if (items.Count == 0)
        {
            _errors.Add(node, reader.Child("kinds"), "must name at least one of tactical, strategic (omit it for both)");
            return fallback;
        }

        var kinds = AlertReceiverKinds.None;
        for (int i = 0; i < items.Count; i++)
        {
            string path = $"{reader.Child("kinds")}[{i}]";
            if (!ScalarValues.TryString(items[i], path, _errors, out string kind))
            {
                continue;
            }

            var one = kind switch { "tactical" => AlertReceiverKinds.Tactical, "strategic" => AlertReceiverKinds.Strategic, _ => AlertReceiverKinds.None };
            if (one == AlertReceiverKinds.None)
            {
                _errors.Add(items[i], path, $"unknown alert kind '{kind}'; expected tactical or strategic");
            }
            else if ((kinds & one) != 0)
            {
                _errors.Add(items[i], path, $"kind '{kind}' is listed twice");
            }

            kinds |= one;
        }

        return kinds == AlertReceiverKinds.None ? fallback : kinds;
    }

    private AlertSeverity? ReadMinSeverity(MappingReader reader)
    {
        if (reader.Optional("min_severity") is not { } node || !ScalarValues.TryString(node, reader.Child("min_severity"), _errors, out string text))
        {
            return null;
        }

        switch (text)
        {
            case "ticket": return AlertSeverity.Ticket;
            case "page": return AlertSeverity.Page;
            case "critical": return AlertSeverity.Critical;
            default:
                _errors.Add(node, reader.Child("min_severity"), $"unknown severity '{text}'; expected one of ticket, page, critical");
                return null;
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvironmentVariableName();
}

/// <summary>The one rule for receiver URLs, from the fleet file or from an environment variable: absolute http(s), bounded.</summary>
public static class AlertUrls
{
    /// <summary>Why <paramref name="url"/> is not a receiver URL, or null when it is one.</summary>
    public static string? Problem(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (url.Length > FleetConfigReader.MaxUrlLength)
        {
            return $"must be at most {FleetConfigReader.MaxUrlLength} characters";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
        {
            return "must be an absolute http or https URL";
        }

        return string.IsNullOrEmpty(uri.UserInfo) ? null : "must not carry credentials in the URL";
    }
}
