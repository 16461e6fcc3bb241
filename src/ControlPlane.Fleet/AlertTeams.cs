using System.Collections.Frozen;
using System.Collections.Immutable;
using ControlPlane.Domain.Slo;

namespace ControlPlane.Fleet;

/// <summary>The fleet file's <c>alerting</c> delivery settings and <c>teams:</c>: who receives a team's alerts.</summary>
public sealed class AlertingDefinition
{
    /// <summary>The runbook base when the file gives none: repository-relative <c>docs/runbooks/</c>.</summary>
    public const string DefaultRunbookBaseUrl = "docs/runbooks/";

    /// <summary>No teams, the default runbook base.</summary>
    public static readonly AlertingDefinition Empty = new(DefaultRunbookBaseUrl, []);

    private readonly FrozenDictionary<string, AlertTeam> _teams;

    /// <summary>Creates the settings (the loader validated every part).</summary>
    public AlertingDefinition(string runbookBaseUrl, ImmutableArray<AlertTeam> teams)
    {
        ArgumentNullException.ThrowIfNull(runbookBaseUrl);
        RunbookBaseUrl = runbookBaseUrl;
        Teams = teams;
        _teams = teams.ToFrozenDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Where runbooks live (<c>alerting.runbook_base_url</c>); a rule's runbook is <c>{base}{rule}.md</c>.</summary>
    public string RunbookBaseUrl { get; }

    /// <summary>Every team with receivers, in file order.</summary>
    public ImmutableArray<AlertTeam> Teams { get; }

    /// <summary>Looks a team up by name.</summary>
    public bool TryGetTeam(string name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out AlertTeam team) =>
        _teams.TryGetValue(name, out team);

    /// <summary>The runbook link of <paramref name="rule"/>: <see cref="RunbookBaseUrl"/> (with a trailing '/') + rule + ".md".</summary>
    public string RunbookFor(string rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return RunbookBaseUrl.EndsWith('/') ? $"{RunbookBaseUrl}{rule}.md" : $"{RunbookBaseUrl}/{rule}.md";
    }
}

/// <summary>A team of the fleet file's <c>teams:</c>: the name endpoints' <c>owner_team</c> and classes' <c>owner</c> use.</summary>
/// <param name="Name">The team name (an identifier).</param>
/// <param name="OnCall">Where the team is paged or reached (free text, e.g. a channel); empty when not given.</param>
/// <param name="Receivers">Where its alerts go, in file order.</param>
public sealed record AlertTeam(string Name, string OnCall, ImmutableArray<AlertReceiverDefinition> Receivers);

/// <summary>The payload a receiver speaks.</summary>
public enum AlertReceiverType : byte
{
    /// <summary>Generic JSON: the notice plus status, team and receiver.</summary>
    Webhook = 1,
    /// <summary>A Slack-compatible incoming webhook (<c>text</c> + <c>blocks</c>).</summary>
    Slack = 2,
    /// <summary>PagerDuty Events API v2 (<c>routing_key</c>, <c>event_action</c>, <c>dedup_key</c>, <c>payload</c>).</summary>
    PagerDuty = 3,
}

/// <summary>Which alert kinds a receiver takes.</summary>
[Flags]
public enum AlertReceiverKinds : byte
{
    /// <summary>None (never valid in a loaded fleet).</summary>
    None = 0,
    /// <summary>Tactical alerts (pages).</summary>
    Tactical = 1,
    /// <summary>Strategic alerts (chat, no page).</summary>
    Strategic = 2,
    /// <summary>Both kinds.</summary>
    Both = Tactical | Strategic,
}

/// <summary>One receiver of a team. The URL and the PagerDuty routing key are given inline or named by an environment
/// variable (<c>url_env</c>, <c>routing_key_env</c>) read when a notice is sent: a variable that is unset disables the
/// receiver (logged at start) rather than failing the fleet.</summary>
public sealed record AlertReceiverDefinition
{
    /// <summary>The payload type.</summary>
    public required AlertReceiverType Type { get; init; }

    /// <summary>The receiver's name, unique in its team: <c>name</c>, else <c>{type}-{index}</c> (e.g. <c>slack-1</c>).</summary>
    public required string Name { get; init; }

    /// <summary>The http(s) URL, when given inline.</summary>
    public string? Url { get; init; }

    /// <summary>The environment variable holding the URL, when given so.</summary>
    public string? UrlEnv { get; init; }

    /// <summary>PagerDuty's integration key, when given inline.</summary>
    public string? RoutingKey { get; init; }

    /// <summary>The environment variable holding PagerDuty's integration key, when given so.</summary>
    public string? RoutingKeyEnv { get; init; }

    /// <summary>The alert kinds it takes (default both; PagerDuty: tactical only).</summary>
    public required AlertReceiverKinds Kinds { get; init; }

    /// <summary>The lowest severity it takes; null for every severity.</summary>
    public AlertSeverity? MinSeverity { get; init; }

    /// <summary>The receiver type as the fleet file spells it.</summary>
    public string TypeName => TypeNameOf(Type);

    /// <summary>The fleet file's spelling of <paramref name="type"/>.</summary>
    public static string TypeNameOf(AlertReceiverType type) => type switch
    {
        AlertReceiverType.Slack => "slack",
        AlertReceiverType.PagerDuty => "pagerduty",
        _ => "webhook",
    };
}
