using Microsoft.Extensions.Logging;

namespace ControlPlane.Grpc.Server;

internal static partial class GrpcServerLog
{
    [LoggerMessage(1, LogLevel.Error, "Error when executing gRPC method '{Method}'.")]
    public static partial void HandlerError(ILogger logger, string method, Exception exception);

    [LoggerMessage(2, LogLevel.Debug, "gRPC call '{Method}' ended with {StatusCode}: {Detail}")]
    public static partial void CallFailed(ILogger logger, string method, StatusCode statusCode, string detail);

    [LoggerMessage(3, LogLevel.Debug, "gRPC call '{Method}' exceeded its deadline.")]
    public static partial void DeadlineExceeded(ILogger logger, string method);

    [LoggerMessage(4, LogLevel.Debug, "gRPC request rejected with HTTP {HttpStatus}: {Reason}")]
    public static partial void RequestRejected(ILogger logger, int httpStatus, string reason);

    [LoggerMessage(5, LogLevel.Debug, "gRPC handler '{Method}' failed after its call had ended.")]
    public static partial void HandlerFailedAfterEnd(ILogger logger, string method, Exception exception);

    [LoggerMessage(6, LogLevel.Information, "gRPC server stopping: refusing new calls, in-flight calls have {ShutdownTimeout} to finish.")]
    public static partial void Stopping(ILogger logger, TimeSpan shutdownTimeout);

    [LoggerMessage(7, LogLevel.Warning, "gRPC server shutdown timeout elapsed: cancelling in-flight calls.")]
    public static partial void ShutdownTimeoutElapsed(ILogger logger);

    [LoggerMessage(8, LogLevel.Debug, "Ignored request metadata '{Key}': {Reason}")]
    public static partial void MetadataIgnored(ILogger logger, string key, string reason);
}
