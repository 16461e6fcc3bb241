using System.Diagnostics.Metrics;
using ControlPlane.Fleet;

namespace ControlPlane.Service.Alerting.Delivery;

/// <summary>The instrument <c>controlplane.alert.notifications</c> on the <c>ControlPlane</c> meter: one count per
/// delivery attempt's end, tagged with the receiver type and the result (delivered, retried, failed). Tag values are
/// from fixed sets (never a team or URL).</summary>
internal sealed class AlertDeliveryMetrics
{
    /// <summary>The meter name shared by the product's instruments.</summary>
    public const string MeterName = "ControlPlane";

    /// <summary>The instrument name.</summary>
    public const string InstrumentName = "controlplane.alert.notifications";

    private static readonly string[] Results = ["delivered", "retried", "failed"];

    private readonly Counter<long> _notifications;

    public AlertDeliveryMetrics(IMeterFactory meterFactory, ILocalSiloDetails? silo = null)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        // Tagged with the silo: one meter identity per silo (the OpenTelemetry SDK merges meters of one identity).
        _notifications = Telemetry.ControlPlaneTelemetry.CreateMeter(meterFactory, silo?.Name).CreateCounter<long>(InstrumentName, "{notification}",
            "Alert notices sent to receivers, by receiver type and result (delivered, retried, failed: given up).");
    }

    public void Count(AlertReceiverType type, AlertDeliveryResult result) =>
        _notifications.Add(1,
            new KeyValuePair<string, object?>("controlplane.receiver.type", AlertReceiverDefinition.TypeNameOf(type)),
            new KeyValuePair<string, object?>("controlplane.notification.result", Results[(int)result]));
}

/// <summary>How one attempt ended, as counted.</summary>
internal enum AlertDeliveryResult
{
    /// <summary>The receiver took it (2xx).</summary>
    Delivered = 0,
    /// <summary>It failed and will be tried again.</summary>
    Retried = 1,
    /// <summary>It was given up (too old, a permanent refusal, the receiver gone, the outbox full).</summary>
    Failed = 2,
}
