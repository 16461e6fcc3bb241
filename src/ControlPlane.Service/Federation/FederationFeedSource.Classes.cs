using System.Collections.Concurrent;
using ControlPlane.Contracts.V1;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Federation;

/// <summary>The policy home's class states on the feed: the class grains are read every
/// <see cref="ClassPollPeriod"/> (a read-only call; no subscription, which would count this node as a routing node of
/// the class) and a newer version wakes the streams. Runs only in the policy-home region.</summary>
internal sealed partial class FederationFeedSource
{
    /// <summary>How often the policy home reads its class grains for the feed.</summary>
    internal static readonly TimeSpan ClassPollPeriod = TimeSpan.FromMilliseconds(500);

    private readonly ConcurrentDictionary<string, FederatedClassState> _classes = new(StringComparer.Ordinal);
    private Task? _classLoop;

    /// <summary>True in the policy-home region: its feed carries the class states.</summary>
    public bool ServesClasses => federation.Value is { Region: { } region, PolicyHome: { } home } && string.Equals(region, home, StringComparison.Ordinal);

    /// <summary>The newest state of every class this node has read (policy home only).</summary>
    public ICollection<FederatedClassState> CurrentClasses => _classes.Values;

    /// <summary>How many class states the first sync waits for.</summary>
    public int ExpectedClasses => ServesClasses ? catalog.Classes.Count : 0;

    private void StartClasses()
    {
        if (ServesClasses)
        {
            _classLoop = Task.Run(() => PollClassesAsync(_stop.Token), CancellationToken.None);
        }
    }

    private async Task StopClassesAsync()
    {
        if (_classLoop is not null)
        {
            await _classLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task PollClassesAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            foreach (var name in catalog.Classes.Keys)
            {
                try
                {
                    var state = await grains.GetGrain<IClassFederationGrain>(name).GetFederatedStateAsync().WaitAsync(cancellationToken);
                    var wire = FederatedClasses.ToWire(name, state);
                    var stored = _classes.AddOrUpdate(name, wire, (_, held) => wire.Version > held.Version ? wire : held);
                    if (ReferenceEquals(stored, wire))
                    {
                        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                    }
                }
                catch (Exception error) when (error is not OperationCanceledException && error is not OutOfMemoryException)
                {
                    LogClassReadFailed(logger, name, error);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            try
            {
                await Task.Delay(ClassPollPeriod, time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Federation feed: reading class {Class} failed; retrying.")]
    private static partial void LogClassReadFailed(ILogger logger, string @class, Exception error);
}
