using ControlPlane.Fleet;

namespace ControlPlane.Service.Alerting.Delivery;

/// <summary>What a fleet reload changes in alert delivery (<c>teams:</c>, <c>alerting.runbook_base_url</c>): all of it
/// applies by a reload (outboxes read their team's receivers when they send).</summary>
internal static class AlertingDiff
{
    public static void Compare(List<string> changes, AlertingDefinition before, AlertingDefinition after)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        if (before.RunbookBaseUrl != after.RunbookBaseUrl)
        {
            changes.Add($"alerting.runbook_base_url: {before.RunbookBaseUrl} -> {after.RunbookBaseUrl}");
        }

        foreach (var team in before.Teams)
        {
            if (!after.TryGetTeam(team.Name, out var next))
            {
                changes.Add($"teams.{team.Name}: removed");
            }
            else if (team.OnCall != next.OnCall || !team.Receivers.SequenceEqual(next.Receivers))
            {
                // Receivers are not described: their URLs may be secrets.
                changes.Add($"teams.{team.Name}: on_call or receivers changed");
            }
        }

        foreach (var team in after.Teams)
        {
            if (!before.TryGetTeam(team.Name, out _))
            {
                changes.Add($"teams.{team.Name}: added");
            }
        }
    }
}
