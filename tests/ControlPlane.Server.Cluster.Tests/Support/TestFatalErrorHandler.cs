using Xunit.Abstractions;

namespace ControlPlane.Server.Cluster.Tests.Support;

/// <summary>Orleans' default handler ends the process (Environment.FailFast) when a silo learns it was declared dead,
/// which is right for a real process but would end the whole test run when a node of this process is crashed in
/// place (<see cref="ClusterNode.CrashAsync"/>): here the fatal error is only reported.</summary>
internal sealed class TestFatalErrorHandler(ITestOutputHelper? output, string node) : IFatalErrorHandler
{
    public bool IsUnexpected(Exception exception) => exception is not OperationCanceledException;

    public void OnFatalException(object? sender = null, string? context = null, Exception? exception = null)
    {
        try
        {
            output?.WriteLine($"[{DateTime.UtcNow:HH:mm:ss.fff} {node} FATAL] {context}: {exception?.GetType().Name} {exception?.Message}");
        }
        catch (InvalidOperationException)
        {
            // The test is over.
        }
    }
}
