using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Redis;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Silo {SiloId} joined the cluster at {Address} (incarnation {Incarnation}, view {View})")]
    public static partial void Joined(this ILogger logger, string siloId, string address, string incarnation, long view);

    [LoggerMessage(2, LogLevel.Information, "Silo {SiloId} left the cluster")]
    public static partial void Left(this ILogger logger, string siloId);

    [LoggerMessage(3, LogLevel.Warning, "Silo {SiloId} could not renew its lease")]
    public static partial void RenewalFailed(this ILogger logger, string siloId, Exception error);

    [LoggerMessage(4, LogLevel.Warning, "Silo {SiloId} self-fenced: no successful renewal for {Elapsed} (fence at {FenceAfter}); it serves no grain turns")]
    public static partial void SelfFenced(this ILogger logger, string siloId, TimeSpan elapsed, TimeSpan fenceAfter);

    [LoggerMessage(5, LogLevel.Information, "Silo {SiloId} renewed its lease again and serves grain turns")]
    public static partial void Unfenced(this ILogger logger, string siloId);

    [LoggerMessage(6, LogLevel.Error, "Silo {SiloId} lost its lease ({Reason}); all its claims are void, it rejoins under a new silo id")]
    public static partial void LeaseLost(this ILogger logger, string siloId, string reason);

    [LoggerMessage(7, LogLevel.Warning, "Silo could not join the cluster; retrying")]
    public static partial void JoinFailed(this ILogger logger, Exception error);

    [LoggerMessage(8, LogLevel.Warning, "Reading the cluster view failed")]
    public static partial void ViewReadFailed(this ILogger logger, Exception error);

    [LoggerMessage(9, LogLevel.Debug, "Cluster view {View}: {Count} live members")]
    public static partial void ViewChanged(this ILogger logger, long view, int count);

    [LoggerMessage(10, LogLevel.Error, "A cluster membership event handler threw")]
    public static partial void HandlerFailed(this ILogger logger, Exception error);
}
