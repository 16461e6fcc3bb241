using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Telemetry;

/// <summary>The control plane's structured event log lines (source-generated; exported as OTLP log records when OTLP
/// is on). A fleet reload is logged by the fleet generation grain ("Fleet generation {Generation} stored from {Source}"). Every value is a fleet name, an enum name or an authenticated principal.</summary>
internal static partial class TelemetryLog
{
    /// <summary>Event ids, stable for log queries.</summary>
    internal static class Ids
    {
        public const int BreakerTransition = 1201;
        public const int AdminChange = 1202;
        public const int KeyCreated = 1204;
        public const int KeyRevoked = 1205;
    }

    [LoggerMessage(EventId = Ids.BreakerTransition, EventName = "BreakerTransition", Level = LogLevel.Warning,
        Message = "Breaker of endpoint {Endpoint} went from {From} to {To} on {Signal}.")]
    public static partial void BreakerTransition(ILogger logger, string endpoint, string from, string to, string signal);

    [LoggerMessage(EventId = Ids.AdminChange, EventName = "AdminChange", Level = LogLevel.Information,
        Message = "Admin change by {Principal}: {Action} on {Target}.")]
    public static partial void AdminChange(ILogger logger, string principal, string action, string target);

    [LoggerMessage(EventId = Ids.KeyCreated, EventName = "KeyCreated", Level = LogLevel.Information,
        Message = "API key {KeyId} ({Name}) created by {Principal} with roles {Roles}.")]
    public static partial void KeyCreated(ILogger logger, string keyId, string name, string principal, string roles);

    [LoggerMessage(EventId = Ids.KeyRevoked, EventName = "KeyRevoked", Level = LogLevel.Information,
        Message = "API key {KeyId} revoked by {Principal}.")]
    public static partial void KeyRevoked(ILogger logger, string keyId, string principal);
}
