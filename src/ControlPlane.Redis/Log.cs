using Microsoft.Extensions.Logging;

namespace ControlPlane.Redis;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Redis {Role} connected to {Endpoint}")]
    public static partial void Connected(ILogger logger, string role, string endpoint);

    [LoggerMessage(2, LogLevel.Warning, "Redis {Role} connection to {Endpoint} lost; reconnecting")]
    public static partial void ConnectionLost(ILogger logger, string role, string endpoint, Exception? error);

    [LoggerMessage(3, LogLevel.Warning, "Redis {Role} could not connect to {Endpoint} (failure {Failures}); next attempt in {DelayMs} ms")]
    public static partial void ConnectFailed(ILogger logger, string role, string endpoint, int failures, double delayMs, Exception error);

    [LoggerMessage(4, LogLevel.Debug, "Redis script {Sha1} was not in the server's cache (NOSCRIPT); sent with EVAL")]
    public static partial void ScriptNotCached(ILogger logger, string sha1);

    [LoggerMessage(5, LogLevel.Error, "Redis pub/sub handler for {Channel} threw")]
    public static partial void HandlerFailed(ILogger logger, string channel, Exception error);

    [LoggerMessage(6, LogLevel.Warning, "Redis pub/sub connection got an error reply: {Error}")]
    public static partial void SubscriberErrorReply(ILogger logger, string error);

    [LoggerMessage(7, LogLevel.Error, "Redis {Role} state change handler threw")]
    public static partial void StateHandlerFailed(ILogger logger, string role, Exception error);
}
