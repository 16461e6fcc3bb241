using System.Collections.Concurrent;
using ControlPlane.Contracts.V1;
using ControlPlane.Domain.Health;
using ControlPlane.Service.Grains;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Federation;

/// <summary>
/// Shared health: outcomes a follower endpoint grain receives for an endpoint homed in another region are queued here
/// (per home region, bounded: the oldest are dropped first, like a node's outcome queue) and sent to the home region in
/// batches of at most <see cref="FederationOptions.MaxForwardBatch"/> every 100 ms. A batch keeps its id across retries
/// (the home region counts it once); a batch the home region refuses as malformed is dropped.
/// </summary>
internal sealed partial class FederationOutcomeForwarder(
    FederationChannels channels, IOptions<FederationOptions> federation, IOptions<ControlPlaneOptions> options, TimeProvider time,
    ILogger<FederationOutcomeForwarder> logger) : IHostedService, IDisposable
{
    /// <summary>Most outcomes queued per home region.</summary>
    internal const int MaxQueued = 100_000;

    private static readonly TimeSpan FlushPeriod = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan SendDeadline = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, ConcurrentQueue<ForwardedOutcome>> _queues = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ForwardOutcomesRequest> _inFlight = new(StringComparer.Ordinal);
    private readonly string _batchPrefix = $"{options.Value.NodeId}/{Guid.NewGuid():N}/";
    private readonly CancellationTokenSource _stop = new();
    private long _batches;
    private Task? _loop;

    /// <summary>Queues a follower grain's outcomes for the endpoint's home region.</summary>
    public void Enqueue(string homeRegion, IEnumerable<OutcomeRecord> outcomes)
    {
        var queue = _queues.GetOrAdd(homeRegion, _ => new ConcurrentQueue<ForwardedOutcome>());
        foreach (var outcome in outcomes)
        {
            queue.Enqueue(ToWire(outcome));
        }

        while (queue.Count > MaxQueued && queue.TryDequeue(out _))
        {
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (federation.Value.Enabled)
        {
            _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public void Dispose() => _stop.Dispose();

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            foreach (var (region, queue) in _queues)
            {
                await FlushAsync(region, queue, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            await Task.Delay(FlushPeriod, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task FlushAsync(string region, ConcurrentQueue<ForwardedOutcome> queue, CancellationToken cancellationToken)
    {
        // A batch that failed is sent again, with the same id and outcomes, before anything newer.
        if (!_inFlight.TryGetValue(region, out var batch))
        {
            if (queue.IsEmpty)
            {
                return;
            }

            batch = new ForwardOutcomesRequest { Region = federation.Value.Region!, BatchId = _batchPrefix + Interlocked.Increment(ref _batches) };
            while (batch.Outcomes.Count < federation.Value.MaxForwardBatch && queue.TryDequeue(out var outcome))
            {
                batch.Outcomes.Add(outcome);
            }

            _inFlight[region] = batch;
        }

        try
        {
            var client = new Contracts.V1.Federation.FederationClient(channels.For(region));
            await client.ForwardOutcomesAsync(batch, deadline: time.GetUtcNow().UtcDateTime + SendDeadline, cancellationToken: cancellationToken);
            _inFlight.Remove(region);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.FailedPrecondition)
        {
            LogRefused(logger, region, batch.Outcomes.Count, e.Status.Detail);
            _inFlight.Remove(region);
        }
        catch (Exception e) when (e is RpcException or ArgumentException)
        {
            // The link is down (or the peer unknown): kept for the next flush.
        }
    }

    internal static ForwardedOutcome ToWire(OutcomeRecord record)
    {
        var sample = record.Sample;
        var outcome = new Outcome
        {
            EndpointId = record.EndpointId,
            WorkloadClass = record.WorkloadClass,
            Status = (OutcomeStatus)((int)sample.Status + 1),
            LatencyMs = (long)sample.Latency.TotalMilliseconds,
            TtftMs = (long)sample.TimeToFirstToken.TotalMilliseconds,
            InputTokens = sample.InputTokens,
            OutputTokens = sample.OutputTokens,
            RetryAfterMs = sample.RetryAfter is { } retry ? (long)retry.TotalMilliseconds : 0,
            ReturnedModelVersion = record.ReturnedModelVersion ?? "",
            Attempt = record.Attempt,
            WorkflowVerdict = record.WorkflowVerdict,
        };
        if (sample.Quality != Domain.Endpoints.QualityVerdict.None || sample.QualityScore is not null)
        {
            outcome.Quality = new Quality { Verdict = (QualityVerdict)(int)sample.Quality };
            if (sample.QualityScore is { } score)
            {
                outcome.Quality.Score = score;
            }
        }

        return new ForwardedOutcome
        {
            Outcome = outcome,
            DecisionKey = record.DecisionKey,
            Fallback = record.Fallback,
            RequestKey = record.RequestKey,
            AtUnixMs = sample.At.ToUnixTimeMilliseconds(),
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Federation: region {Region} refused {Count} forwarded outcomes: {Detail}")]
    private static partial void LogRefused(ILogger logger, string region, int count, string detail);
}
