using System.Buffers;
using System.Globalization;
using System.Text.Json;
using ControlPlane.Domain.Slo;
using ControlPlane.Fleet;

namespace ControlPlane.Service.Alerting.Delivery;

/// <summary>What a payload is built from: the notice, who it goes to, and the resolved runbook link.</summary>
/// <param name="Notice">The alert state change.</param>
/// <param name="Team">The receiving team.</param>
/// <param name="Receiver">The receiver's name.</param>
/// <param name="Runbook">The runbook link (absolute when the fleet's runbook base is).</param>
/// <param name="Test">True for a test notice (<c>POST /admin/v1/alerts/test</c>).</param>
internal readonly record struct AlertPayloadContext(AlertNotice Notice, string Team, string Receiver, string Runbook, bool Test);

/// <summary>The three payloads: generic JSON webhook, Slack incoming webhook, PagerDuty Events API v2.</summary>
internal static class AlertPayloads
{
    /// <summary>Lowercase wire names of the notice's enums (the alert API uses the same).</summary>
    public static string Name(AlertState state) => state switch { AlertState.Pending => "pending", AlertState.Firing => "firing", _ => "resolved" };

    /// <inheritdoc cref="Name(AlertState)"/>
    public static string Name(AlertKind kind) => kind == AlertKind.Tactical ? "tactical" : "strategic";

    /// <inheritdoc cref="Name(AlertState)"/>
    public static string Name(AlertSeverity severity) => severity switch { AlertSeverity.Critical => "critical", AlertSeverity.Page => "page", _ => "ticket" };

    /// <inheritdoc cref="Name(AlertState)"/>
    public static string Name(AlertTargetKind kind) => kind == AlertTargetKind.Endpoint ? "endpoint" : "class";

    /// <summary>PagerDuty's severity: critical stays critical, a page is an error, a ticket a warning, a test info.</summary>
    public static string PagerDutySeverity(AlertSeverity severity, bool test) =>
        test ? "info" : severity switch { AlertSeverity.Critical => "critical", AlertSeverity.Page => "error", _ => "warning" };

    /// <summary>The payload for <paramref name="type"/> (<paramref name="routingKey"/>: PagerDuty only).</summary>
    public static byte[] Build(AlertReceiverType type, AlertPayloadContext context, string? routingKey) => type switch
    {
        AlertReceiverType.Slack => Slack(context),
        AlertReceiverType.PagerDuty => PagerDuty(context, routingKey ?? ""),
        _ => Webhook(context),
    };

    /// <summary>The notice as camelCase JSON with lowercase enum names, plus <c>status</c>, <c>team</c>, <c>receiver</c>.</summary>
    public static byte[] Webhook(AlertPayloadContext c)
    {
        var n = c.Notice;
        return Write(w =>
        {
            w.WriteString("status", Name(n.State));
            w.WriteString("team", c.Team);
            w.WriteString("receiver", c.Receiver);
            w.WriteBoolean("test", c.Test);
            w.WriteString("key", n.Key);
            w.WriteString("rule", n.Rule);
            w.WriteString("kind", Name(n.Kind));
            w.WriteString("severity", Name(n.Severity));
            w.WriteString("state", Name(n.State));
            w.WriteString("targetKind", Name(n.TargetKind));
            w.WriteString("targetId", n.TargetId);
            w.WriteStartArray("workloadClasses");
            foreach (string workloadClass in n.WorkloadClasses)
            {
                w.WriteStringValue(workloadClass);
            }

            w.WriteEndArray();
            w.WriteString("ownerTeam", n.OwnerTeam);
            w.WriteString("onCall", n.OnCall);
            w.WriteString("runbook", c.Runbook);
            w.WriteString("summary", n.Summary);
            WriteNumber(w, "value", n.Value);
            WriteNumber(w, "threshold", n.Threshold);
            w.WriteString("window", n.Window.ToString("c", CultureInfo.InvariantCulture));
            w.WriteNumber("windowSeconds", (long)n.Window.TotalSeconds);
            w.WriteString("startedAt", n.StartedAt);
            w.WriteString("changedAt", n.ChangedAt);
            w.WriteNumber("sequence", n.Sequence);
        });
    }

    /// <summary>A Slack incoming-webhook message: <c>text</c> (the fallback and notification line) and <c>blocks</c>
    /// (a header, the severity/target/value/owner/on-call fields and the runbook link).</summary>
    public static byte[] Slack(AlertPayloadContext c)
    {
        var n = c.Notice;
        string status = n.State == AlertState.Resolved ? "RESOLVED" : "FIRING";
        string prefix = c.Test ? "[TEST] " : "";
        string text = $"{prefix}[{status}] {n.Rule} on {Name(n.TargetKind)} {n.TargetId} ({Name(n.Severity)}): {n.Summary}";
        string runbook = c.Runbook;
        return Write(w =>
        {
            w.WriteString("text", Truncate(text, 3000));
            w.WriteStartArray("blocks");

            w.WriteStartObject();
            w.WriteString("type", "header");
            WriteText(w, "plain_text", Truncate($"{prefix}{status}: {n.Rule} ({Name(n.Severity)})", 150));
            w.WriteEndObject();

            w.WriteStartObject();
            w.WriteString("type", "section");
            WriteText(w, "mrkdwn", Truncate(n.Summary.Length == 0 ? n.Rule : n.Summary, 3000));
            w.WriteStartArray("fields");
            Field(w, $"*Severity*\n{Name(n.Severity)} ({Name(n.Kind)})");
            Field(w, $"*Target*\n{Name(n.TargetKind)} `{n.TargetId}`");
            Field(w, $"*Value*\n{Format(n.Value)} vs threshold {Format(n.Threshold)} over {n.Window.ToString("c", CultureInfo.InvariantCulture)}");
            Field(w, $"*Owner*\n{n.OwnerTeam}");
            Field(w, $"*On-call*\n{(n.OnCall.Length == 0 ? "-" : n.OnCall)}");
            Field(w, $"*Classes*\n{(n.WorkloadClasses.Count == 0 ? "-" : string.Join(", ", n.WorkloadClasses))}");
            w.WriteEndArray();
            w.WriteEndObject();

            w.WriteStartObject();
            w.WriteString("type", "context");
            w.WriteStartArray("elements");
            w.WriteStartObject();
            w.WriteString("type", "mrkdwn");
            w.WriteString("text", Truncate(IsAbsolute(runbook) ? $"<{runbook}|Runbook> · key `{n.Key}` · #{n.Sequence}" : $"Runbook: {runbook} · key `{n.Key}` · #{n.Sequence}", 3000));
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();

            w.WriteEndArray();
        });
    }

    /// <summary>A PagerDuty Events API v2 event: trigger on firing, resolve on resolved, deduplicated on the alert's key.</summary>
    public static byte[] PagerDuty(AlertPayloadContext c, string routingKey)
    {
        var n = c.Notice;
        string runbook = c.Runbook;
        return Write(w =>
        {
            w.WriteString("routing_key", routingKey);
            w.WriteString("event_action", n.State == AlertState.Resolved ? "resolve" : "trigger");
            // PagerDuty limits dedup_key to 255 characters.
            w.WriteString("dedup_key", Truncate(n.Key, 255));
            w.WriteStartObject("payload");
            // ... and summary to 1024.
            w.WriteString("summary", Truncate((c.Test ? "[TEST] " : "") + (n.Summary.Length == 0 ? $"{n.Rule} on {n.TargetId}" : n.Summary), 1024));
            w.WriteString("source", $"controlplane/{Name(n.TargetKind)}/{n.TargetId}");
            w.WriteString("severity", PagerDutySeverity(n.Severity, c.Test));
            w.WriteString("timestamp", n.ChangedAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            w.WriteString("component", n.TargetId);
            w.WriteString("group", n.OwnerTeam);
            w.WriteString("class", n.Rule);
            w.WriteStartObject("custom_details");
            w.WriteString("kind", Name(n.Kind));
            w.WriteString("controlplane_severity", Name(n.Severity));
            w.WriteString("target_kind", Name(n.TargetKind));
            w.WriteString("workload_classes", string.Join(",", n.WorkloadClasses));
            WriteNumber(w, "value", n.Value);
            WriteNumber(w, "threshold", n.Threshold);
            w.WriteNumber("window_seconds", (long)n.Window.TotalSeconds);
            w.WriteString("on_call", n.OnCall);
            w.WriteString("team", c.Team);
            w.WriteString("runbook", runbook);
            w.WriteString("started_at", n.StartedAt);
            w.WriteNumber("sequence", n.Sequence);
            w.WriteEndObject();
            w.WriteEndObject();
            if (IsAbsolute(runbook))
            {
                w.WriteStartArray("links");
                w.WriteStartObject();
                w.WriteString("href", runbook);
                w.WriteString("text", $"Runbook: {n.Rule}");
                w.WriteEndObject();
                w.WriteEndArray();
            }
        });
    }

    private static bool IsAbsolute(string url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";

    private static void Field(Utf8JsonWriter w, string text) => WriteObject(w, "mrkdwn", Truncate(text, 2000));

    private static void WriteText(Utf8JsonWriter w, string type, string text)
    {
        w.WriteStartObject("text");
        w.WriteString("type", type);
        w.WriteString("text", text);
        w.WriteEndObject();
    }

    private static void WriteObject(Utf8JsonWriter w, string type, string text)
    {
        w.WriteStartObject();
        w.WriteString("type", type);
        w.WriteString("text", text);
        w.WriteEndObject();
    }

    // JSON has no NaN or infinity: those are written as null.
    private static void WriteNumber(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(name, value);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static string Format(double value) => double.IsFinite(value) ? value.ToString("0.####", CultureInfo.InvariantCulture) : "n/a";

    private static string Truncate(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max - 1), "…");

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
