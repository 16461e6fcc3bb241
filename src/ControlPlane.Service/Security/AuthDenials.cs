using System.Collections.Concurrent;
using ControlPlane.Service.Audit;
using ControlPlane.Service.Grains;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Security;

/// <summary>Counts refused calls (401 and 403) per (credential or <c>anonymous</c>, source address, action, outcome)
/// and writes each group once per <see cref="SecurityOptions.DenialFlushPeriod"/> to the audit trail as an
/// <c>auth.denied</c> entry with its count, and to the log. Counting never waits (a dictionary increment); memory is
/// bounded by <see cref="SecurityOptions.MaxDenialGroups"/> groups, beyond which refusals are counted in one overflow
/// group. A flush that cannot reach the audit trail keeps the counts for the next period.</summary>
internal sealed partial class AuthDenials(IGrainFactory grains, TimeProvider time, IOptions<SecurityOptions> options, ILogger<AuthDenials> logger)
    : IDisposable
{
    /// <summary>The group refusals beyond the bound are counted in.</summary>
    internal static readonly DenialKey Overflow = new("*", "*", "*", "*", "*");

    private readonly CancellationTokenSource _stop = new();
    private ConcurrentDictionary<DenialKey, Counter> _groups = new();
    private Task? _loop;

    /// <summary>Counts one refused call.</summary>
    public void Record(DenialKey key)
    {
        var groups = _groups;
        if (!groups.TryGetValue(key, out var counter))
        {
            counter = groups.Count < options.Value.MaxDenialGroups ? groups.GetOrAdd(key, _ => new Counter()) : groups.GetOrAdd(Overflow, _ => new Counter());
        }

        Interlocked.Increment(ref counter.Count);
    }

    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await FlushAsync();
    }

    public void Dispose() => _stop.Dispose();

    /// <summary>Writes every group counted so far to the audit trail (and the log), one entry per group.</summary>
    internal async Task FlushAsync()
    {
        var groups = Interlocked.Exchange(ref _groups, new ConcurrentDictionary<DenialKey, Counter>());
        if (groups.IsEmpty)
        {
            return;
        }

        var audit = grains.GetGrain<IAuditTrailGrain>(AuditTrailGrain.Key);
        foreach (var (key, counter) in groups)
        {
            var count = Interlocked.Read(ref counter.Count);
            LogDenied(logger, key.Outcome, count, key.Action, key.Principal, key.Credential, key.Source);
            try
            {
                await audit.AppendAsync(new AuditEntry(0, default, new AdminActor(key.Principal, [], key.Credential, key.Source, ""),
                    "auth.denied", key.Action, key.Outcome, "", $"count={count}"));
            }
            catch (Exception error) when (error is not OutOfMemoryException)
            {
                // Counted again next period rather than lost.
                LogFlushFailed(logger, error);
                var next = _groups.GetOrAdd(key, _ => new Counter());
                Interlocked.Add(ref next.Count, count);
            }
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.DenialFlushPeriod, time, cancellationToken);
                await FlushAsync();
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused ({Outcome}) {Count} call(s) to {Action} by {Principal} ({Credential}) from {Source}.")]
    private static partial void LogDenied(ILogger logger, string outcome, long count, string action, string principal, string credential, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write refused calls to the audit trail; they are kept for the next period.")]
    private static partial void LogFlushFailed(ILogger logger, Exception error);

    private sealed class Counter
    {
        public long Count;
    }
}

/// <summary>A group of refused calls.</summary>
/// <param name="Principal">The authenticated principal, or <c>anonymous</c>.</param>
/// <param name="Credential">The credential id, or <c>anonymous</c>.</param>
/// <param name="Source">The caller's IP address (no port: it changes per connection).</param>
/// <param name="Action">The route pattern (with the HTTP method) or gRPC method.</param>
/// <param name="Outcome"><c>unauthenticated</c> or <c>forbidden</c>.</param>
internal readonly record struct DenialKey(string Principal, string Credential, string Source, string Action, string Outcome);
