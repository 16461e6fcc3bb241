using System.Threading.Channels;
using ControlPlane.Contracts.V1;

namespace ControlPlane.Client;

/// <summary>Options of <see cref="OutcomeReporter"/>.</summary>
public sealed class OutcomeReporterOptions
{
    /// <summary>Longest time an outcome waits before it is sent.
    /// <value>Must be between 10 ms and 10 s. Defaults to 100 ms.</value></summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Outcomes per stream.
    /// <value>Must be between 1 and 10,000. Defaults to 500.</value></summary>
    public int MaxBatchSize { get; set; } = 500;

    /// <summary>Outcomes buffered while the node is slow or away; beyond it the oldest are dropped.
    /// <value>Must be between 100 and 10,000,000. Defaults to 100,000.</value></summary>
    public int Capacity { get; set; } = 100_000;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the bad option.</summary>
    public OutcomeReporterOptions Validate()
    {
        if (FlushInterval < TimeSpan.FromMilliseconds(10) || FlushInterval > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(FlushInterval), FlushInterval, "OutcomeReporterOptions.FlushInterval must be between 10 ms and 10 s.");
        }

        if (MaxBatchSize is < 1 or > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "OutcomeReporterOptions.MaxBatchSize must be between 1 and 10,000.");
        }

        if (Capacity is < 100 or > 10_000_000)
        {
            throw new ArgumentOutOfRangeException(nameof(Capacity), Capacity, "OutcomeReporterOptions.Capacity must be between 100 and 10,000,000.");
        }

        return this;
    }
}

/// <summary>Reports outcomes in the background: <see cref="Enqueue"/> never waits on the network; a loop sends
/// batches on one client stream each (<c>ReportOutcomes</c>) when a batch fills or the flush interval passes.</summary>
public sealed class OutcomeReporter : IAsyncDisposable
{
    private readonly ControlPlaneClient _client;
    private readonly OutcomeReporterOptions _options;
    private readonly TimeProvider _time;
    private readonly Channel<Outcome> _queue;
    private readonly Task _loop;
    private long _sent;
    private long _rejected;
    private long _failed;
    private long _dropped;

    /// <summary>Starts the reporter.</summary>
    public OutcomeReporter(ControlPlaneClient client, OutcomeReporterOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _options = (options ?? new OutcomeReporterOptions()).Validate();
        _time = time ?? TimeProvider.System;
        _queue = Channel.CreateBounded<Outcome>(
            new BoundedChannelOptions(_options.Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => Interlocked.Increment(ref _dropped));
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Outcomes the node accepted.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Outcomes the node rejected as invalid.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Outcomes lost because a batch could not be delivered (an <see cref="Grpc.Core.RpcException"/>: the node
    /// is away, the deadline passed). A failed batch is never resent: the node may have counted part of it.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Outcomes dropped because the buffer was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues an outcome; false once the reporter is disposed.</summary>
    public bool Enqueue(Outcome outcome) => _queue.Writer.TryWrite(outcome);

    /// <summary>Sends what is queued and stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Outcome>(_options.MaxBatchSize);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // The first outcome opens a batch; it closes when full or one flush interval later.
            using (var window = new CancellationTokenSource(_options.FlushInterval, _time))
            {
                try
                {
                    while (batch.Count < _options.MaxBatchSize)
                    {
                        if (reader.TryRead(out var outcome))
                        {
                            batch.Add(outcome);
                            continue;
                        }

                        if (!await reader.WaitToReadAsync(window.Token).ConfigureAwait(false))
                        {
                            break;
                        }
                    }
                }
                catch (OperationCanceledException) when (window.IsCancellationRequested)
                {
                    // Interval over: send what we have.
                }
            }

            await SendAsync(batch).ConfigureAwait(false);
            batch.Clear();
        }
    }

    private async Task SendAsync(List<Outcome> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }

        try
        {
            var ack = await _client.ReportBatchAsync(batch).ConfigureAwait(false);
            Interlocked.Add(ref _sent, ack.Accepted);
            Interlocked.Add(ref _rejected, ack.Rejected);
        }
#pragma warning disable CA1031 // Reporting is best effort: a lost batch is counted, never thrown into the caller's path.
        catch (Exception)
#pragma warning restore CA1031
        {
            Interlocked.Add(ref _failed, batch.Count);
        }
    }
}
