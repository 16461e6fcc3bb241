namespace ControlPlane.Server.Security;

/// <summary>Start-up warnings about listeners reachable from the network without TLS.</summary>
internal static partial class ListenerSecurityLog
{
    /// <summary>The logger category of the warnings.</summary>
    public const string Category = "ControlPlane.Server.Tls";

    /// <summary>Logs one warning per plaintext non-loopback listener (<see cref="ListenerTls.PlaintextWarnings"/>).</summary>
    public static void WarnIfPlaintext(ILoggerFactory loggers, NodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(loggers);
        var logger = loggers.CreateLogger(Category);
        foreach (var warning in ListenerTls.PlaintextWarnings(options))
        {
            PlaintextListener(logger, warning);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void PlaintextListener(ILogger logger, string warning);
}
