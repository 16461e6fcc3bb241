using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Server.Cluster.Tests;

/// <summary>Keeps every log entry's event id and level, to count what the watchdog said.</summary>
internal sealed class RecordingLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<(int EventId, LogLevel Level)> _entries = new();

    public IReadOnlyCollection<(int EventId, LogLevel Level)> Entries => _entries;

    public int Count(int eventId) => _entries.Count(e => e.EventId == eventId);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((eventId.Id, logLevel));
}
