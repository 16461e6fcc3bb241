using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace ControlPlane.Server.Cluster;

/// <summary>
/// Orleans' fatal-error handler on a cluster node. A silo the cluster voted dead (it missed its probes: a frozen or
/// starved process, a partition, nodes coming back one by one after a long storage outage) is told so by its membership
/// table, and Orleans' default handler then ends the process (<c>Environment.FailFast</c>). Our node is more than its
/// silo: its routing node keeps answering Route from its last snapshot (fail-static), and an orchestrator may not be
/// there to restart a process that died. So that one case raises <see cref="IncarnationLossReason.DeclaredDead"/>
/// through the <see cref="IncarnationWatchdog"/>, and the host stops the dead silo at once and joins again as a new
/// one, exactly as after a lost incarnation (<c>docs/cluster-incarnation.md</c>). Orleans' own test host does the same
/// (it stops the silo's host instead of ending the process). Every other fatal error keeps Orleans' behaviour: logged,
/// then the process ends.
/// </summary>
/// <param name="watchdog">The silo's watchdog, resolved only when a silo is told it is dead: Orleans resolves its
/// fatal-error handler when the silo is built, and the watchdog opens its Redis connection when it is created.</param>
/// <param name="logger">Where the fatal error is logged.</param>
internal sealed partial class DeclaredDeadHandler(Func<IncarnationWatchdog> watchdog, ILogger<DeclaredDeadHandler> logger) : IFatalErrorHandler
{
    // The context Orleans 10's MembershipTableManager.KillMyselfLocally passes (with no exception); checked against the
    // pinned Orleans by ProcessFaultTests' SIGSTOP test, which sees the node rejoin instead of exit.
    internal const string DeclaredDeadContext = "I have been told I am dead";

    /// <inheritdoc/>
    public bool IsUnexpected(Exception exception) => exception is not ThreadAbortException;

    /// <inheritdoc/>
    public void OnFatalException(object? sender = null, string? context = null, Exception? exception = null)
    {
        if (exception is null && context is not null && context.Contains(DeclaredDeadContext, StringComparison.Ordinal))
        {
            LogDeclaredDead(logger, context);
            watchdog().ReportDeclaredDead(context);
            return;
        }

        LogFatal(logger, exception, sender, context);
        var message = $"FATAL ERROR from {sender?.ToString() ?? "null"}. Context: {context ?? "null"}. Exception: {exception?.ToString() ?? "null"}";
        Console.Error.WriteLine(message);
        // Let the loggers flush, as Orleans' handler does.
        Thread.Sleep(TimeSpan.FromSeconds(2));
        if (Debugger.IsAttached)
        {
            Debugger.Break();
        }

        Environment.FailFast(message, exception);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Critical, Message = "The cluster declared this silo dead: it stops and joins again as a new silo ({Context})")]
    private static partial void LogDeclaredDead(ILogger logger, string context);

    [LoggerMessage(EventId = 2, Level = LogLevel.Critical, Message = "Fatal error from {Sender}. Context: {Context}. The process ends.")]
    private static partial void LogFatal(ILogger logger, Exception? exception, object? sender, string? context);
}
