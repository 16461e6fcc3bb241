using ControlPlane.Fleet;

namespace ControlPlane.Service.Alerting.Delivery;

/// <summary>Who gets a notice: routed by workload class. A class alert goes to the class owner's team; an endpoint
/// alert to the endpoint's <c>owner_team</c> and to the owner of every class in <see cref="AlertNotice.WorkloadClasses"/>,
/// each team once. Which of a team's receivers take it: by <c>kinds</c> and <c>min_severity</c>.</summary>
internal static class AlertRouting
{
    /// <summary>The teams a notice goes to, in routing order (target owner first), each once. Owners are read from the
    /// fleet (the notice's <see cref="AlertNotice.OwnerTeam"/> when the target is not in it); classes the fleet does not
    /// know are skipped.</summary>
    public static List<string> TeamsFor(AlertNotice notice, FleetCatalogSnapshot fleet)
    {
        ArgumentNullException.ThrowIfNull(notice);
        ArgumentNullException.ThrowIfNull(fleet);
        var teams = new List<string>(2);
        string owner = notice.TargetKind == AlertTargetKind.WorkloadClass
            ? fleet.Classes.TryGetValue(notice.TargetId, out var targetClass) ? targetClass.Owner : notice.OwnerTeam
            : fleet.Endpoints.TryGetValue(notice.TargetId, out var endpoint) ? endpoint.OwnerTeam : notice.OwnerTeam;
        Add(teams, owner);
        foreach (string name in notice.WorkloadClasses)
        {
            if (fleet.Classes.TryGetValue(name, out var workloadClass))
            {
                Add(teams, workloadClass.Owner);
            }
        }

        return teams;
    }

    /// <summary>True when <paramref name="receiver"/> takes <paramref name="notice"/>'s kind and severity.</summary>
    public static bool Accepts(AlertReceiverDefinition receiver, AlertNotice notice)
    {
        var kind = notice.Kind == AlertKind.Tactical ? AlertReceiverKinds.Tactical : AlertReceiverKinds.Strategic;
        return (receiver.Kinds & kind) != 0 && (receiver.MinSeverity is not { } min || notice.Severity >= min);
    }

    /// <summary>The notice's runbook when it is an absolute http(s) link, else the fleet's <c>runbook_base_url</c> + rule.</summary>
    public static string RunbookFor(AlertNotice notice, AlertingDefinition alerting) =>
        Uri.TryCreate(notice.Runbook, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? notice.Runbook : alerting.RunbookFor(notice.Rule);

    private static void Add(List<string> teams, string team)
    {
        if (team.Length > 0 && !teams.Contains(team, StringComparer.Ordinal))
        {
            teams.Add(team);
        }
    }
}

/// <summary>A receiver with its URL and routing key read (from the fleet file or its environment variables).</summary>
/// <param name="Definition">The fleet file's receiver.</param>
/// <param name="Url">The URL to POST to.</param>
/// <param name="RoutingKey">PagerDuty's integration key (null for other types).</param>
internal sealed record ResolvedReceiver(AlertReceiverDefinition Definition, Uri Url, string? RoutingKey)
{
    /// <summary>Longest routing key read from the environment.</summary>
    public const int MaxRoutingKeyLength = 256;

    /// <summary>Reads the receiver's URL and key; null with <paramref name="problem"/> when an environment variable is
    /// unset or holds something that is not a receiver URL (the receiver is disabled).</summary>
    public static ResolvedReceiver? TryResolve(AlertReceiverDefinition receiver, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        string? url = receiver.Url ?? (receiver.UrlEnv is { } env ? Environment.GetEnvironmentVariable(env) : null);
        if (string.IsNullOrWhiteSpace(url))
        {
            problem = $"environment variable {receiver.UrlEnv} (url_env) is not set";
            return null;
        }

        if (AlertUrls.Problem(url) is { } urlProblem)
        {
            problem = $"the URL {(receiver.UrlEnv is { } e ? $"in {e} " : "")}{urlProblem}";
            return null;
        }

        string? key = null;
        if (receiver.Type == AlertReceiverType.PagerDuty)
        {
            key = receiver.RoutingKey ?? (receiver.RoutingKeyEnv is { } keyEnv ? Environment.GetEnvironmentVariable(keyEnv) : null);
            if (string.IsNullOrWhiteSpace(key) || key.Length > MaxRoutingKeyLength)
            {
                problem = $"environment variable {receiver.RoutingKeyEnv} (routing_key_env) is not set or longer than {MaxRoutingKeyLength} characters";
                return null;
            }
        }

        problem = null;
        return new ResolvedReceiver(receiver, new Uri(url, UriKind.Absolute), key);
    }
}
