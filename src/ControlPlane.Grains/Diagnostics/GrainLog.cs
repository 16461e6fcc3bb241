using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Diagnostics;

/// <summary>The runtime's log events (source-generated).</summary>
internal static partial class GrainLog
{
    [LoggerMessage(1, LogLevel.Debug, "Activated grain {GrainId}")]
    public static partial void Activated(this ILogger logger, GrainId grainId);

    [LoggerMessage(2, LogLevel.Error, "Grain {GrainId} failed to activate")]
    public static partial void ActivationFailed(this ILogger logger, GrainId grainId, Exception error);

    [LoggerMessage(3, LogLevel.Debug, "Deactivated grain {GrainId} ({Reason})")]
    public static partial void Deactivated(this ILogger logger, GrainId grainId, DeactivationReason reason);

    [LoggerMessage(4, LogLevel.Warning, "OnDeactivateAsync of grain {GrainId} failed")]
    public static partial void DeactivationFailed(this ILogger logger, GrainId grainId, Exception error);

    [LoggerMessage(5, LogLevel.Warning, "Timer callback of grain {GrainId} failed")]
    public static partial void TimerFailed(this ILogger logger, GrainId grainId, Exception error);

    [LoggerMessage(6, LogLevel.Error, "A turn of grain {GrainId} failed outside grain code")]
    public static partial void TurnFailed(this ILogger logger, GrainId grainId, Exception error);

    [LoggerMessage(7, LogLevel.Warning, "Releasing the directory claim of grain {GrainId} failed")]
    public static partial void ClaimReleaseFailed(this ILogger logger, GrainId grainId, Exception error);

    [LoggerMessage(8, LogLevel.Information, "Grain silo {SiloId} started")]
    public static partial void SiloStarted(this ILogger logger, string siloId);

    [LoggerMessage(9, LogLevel.Information, "Grain silo {SiloId} stopping: deactivating {Count} activations")]
    public static partial void SiloStopping(this ILogger logger, string siloId, int count);

    [LoggerMessage(10, LogLevel.Information, "Grain silo {SiloId} stopped")]
    public static partial void SiloStopped(this ILogger logger, string siloId);

    [LoggerMessage(11, LogLevel.Debug, "Idle collection deactivated {Count} activations")]
    public static partial void Collected(this ILogger logger, int count);

    [LoggerMessage(12, LogLevel.Warning, "Grain silo {SiloId} gave up waiting for deactivations after {Timeout}; {Count} activations abandoned")]
    public static partial void ShutdownTimedOut(this ILogger logger, string siloId, TimeSpan timeout, int count);
}
