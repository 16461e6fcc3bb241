using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace ControlPlane.Server.Cluster.Tests.Support;

/// <summary>Writes a node's warnings and errors to the test output, prefixed with the node name (nothing once the
/// test has finished: xunit refuses late output).</summary>
internal sealed class TestOutputLoggerProvider(ITestOutputHelper output, string node) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(output, node, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(ITestOutputHelper output, string node, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            if (!IsEnabled(logLevel) || message.Contains("ServerGC", StringComparison.Ordinal))
            {
                return;
            }

            try
            {
                output.WriteLine($"[{DateTime.UtcNow:HH:mm:ss.fff} {node} {logLevel} {category}] {message}{(exception is null ? "" : $" {exception.GetType().Name}: {exception.Message}")}");
            }
            catch (InvalidOperationException)
            {
                // The test is over.
            }
        }
    }
}
