using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using ControlPlane.Client;
using ControlPlane.Contracts.V1;
using ControlPlane.Fleet;
using ControlPlane.Providers;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Prober;

/// <summary>The synthetic-eval prober (docs/evals.md): every <see cref="ProberOptions.Interval"/> (every
/// <see cref="ProberOptions.OpenInterval"/> for an endpoint whose breaker is open or half-open, read from
/// <c>WatchRoutingTable</c>) it sends the golden set to every endpoint of the upstreams file directly, grades each answer
/// (<c>content.Contains(expect)</c>), and reports the verdicts as synthetic outcomes (one batch per run, with latency,
/// tokens and the returned model version) under a token budget per hour. <c>GET /prober/v1/status</c> serves its
/// counters and probe cost (tokens, USD from the fleet's prices).</summary>
public sealed partial class ProberHost : IAsyncDisposable
{
    private const int MaxPendingOutcomes = 10_000;
    private readonly ProberOptions _options;
    private readonly IReadOnlyList<GoldenPrompt> _golden;
    private readonly IReadOnlyList<UpstreamEndpoint> _endpoints;
    private readonly IReadOnlyDictionary<string, (decimal Input, decimal Output)> _prices;
    private readonly ProviderClient _providers;
    private readonly UpstreamCaller _caller;
    private readonly GrpcChannel _channel;
    private readonly ControlPlaneClient _client;
    private readonly ProbeBudget _budget;
    private readonly ProberStatus _status;
    private readonly ConcurrentDictionary<string, string> _breakers = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Outcome> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _reportGate = new(1, 1);
    private WebApplication? _app;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private Task _loops = Task.CompletedTask;
    private long _budgetLoggedHour = long.MinValue;

    private ProberHost(ProberOptions options, IReadOnlyList<GoldenPrompt> golden, IReadOnlyList<UpstreamEndpoint> endpoints,
        IReadOnlyDictionary<string, (decimal, decimal)> prices)
    {
        _options = options;
        _golden = golden;
        _endpoints = endpoints;
        _prices = prices;
        _providers = new ProviderClient(new ProviderClientOptions { MaxResponseBytes = 1024 * 1024 });
        _caller = new UpstreamCaller(_providers);
        var clientOptions = new ControlPlaneClientOptions { ApiKey = options.Credential };
        _channel = ControlPlaneClient.CreateChannel(options.ControlPlane!, clientOptions);
        _client = new ControlPlaneClient(_channel, clientOptions);
        _budget = new ProbeBudget(options.BudgetTokensPerHour, options.TimeProvider);
        _status = new ProberStatus(options.TimeProvider);
    }

    /// <summary>The status endpoint's base address (<c>GET {StatusUri}prober/v1/status</c>).</summary>
    public Uri StatusUri { get; private set; } = null!;

    /// <summary>The golden set in use.</summary>
    public IReadOnlyList<GoldenPrompt> GoldenSet => _golden;

    /// <summary>Loads the files, starts the status endpoint and the probing loops.</summary>
    /// <exception cref="ArgumentException">An invalid option.</exception>
    /// <exception cref="GoldenSetException">A malformed golden set.</exception>
    /// <exception cref="UpstreamsFileException">A malformed upstreams file.</exception>
    /// <exception cref="FleetConfigException">A malformed fleet file.</exception>
    public static async Task<ProberHost> StartAsync(ProberOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var golden = ControlPlane.Prober.GoldenSet.Load(options.GoldenSetPath);
        var endpoints = UpstreamsFile.Load(options.UpstreamsPath!).Values.OrderBy(e => e.Id, StringComparer.Ordinal).ToList();
        var prices = new Dictionary<string, (decimal, decimal)>(StringComparer.Ordinal);
        if (options.FleetPath is { } fleetPath)
        {
            foreach (var e in FleetLoader.LoadFile(fleetPath).Endpoints)
            {
                prices[e.Id] = (e.Descriptor.PricePer1kInput, e.Descriptor.PricePer1kOutput);
            }
        }

        var host = new ProberHost(options, golden, endpoints, prices);
        try
        {
            await host.StartStatusAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        host._loops = Task.WhenAll(host.WatchLoopAsync(host._stop.Token), host.ScheduleLoopAsync(host._stop.Token));
        return host;
    }

    /// <summary>Stops probing (reporting what is pending once more) and the status endpoint.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loops.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        using (var final = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await ReportPendingAsync(final.Token).ConfigureAwait(false);
        }

        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }

        _client.Dispose();
        _channel.Dispose();
        _providers.Dispose();
        _stop.Dispose();
        _reportGate.Dispose();
    }

    private async Task StartStatusAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 0;
            kestrel.Listen(_options.Listen);
        });
        builder.Services.AddRoutingCore();
        _app = builder.Build();
        _logger = _app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ControlPlane.Prober");
        _app.MapGet("/prober/v1/status", async context =>
        {
            context.Response.ContentType = "application/json";
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            {
                _status.Write(writer, _budget, _golden.Count);
            }

            await context.Response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted).ConfigureAwait(false);
        });
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        StatusUri = new Uri(address.TrimEnd('/') + "/");
    }

    // Breaker states from the routing table, so an open endpoint is probed faster; reconnects after a failure.
    private async Task WatchLoopAsync(CancellationToken cancellationToken)
    {
        var routing = new Routing.RoutingClient(_channel);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var watch = routing.WatchRoutingTable(new WatchRoutingTableRequest(), cancellationToken: cancellationToken);
                while (await watch.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                {
                    foreach (var e in watch.ResponseStream.Current.Endpoints)
                    {
                        _breakers[e.EndpointId] = e.BreakerState;
                    }
                }
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                LogWatchFailed(_logger, e.StatusCode.ToString());
            }
            catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or RpcException)
            {
                return;
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _options.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ScheduleLoopAsync(CancellationToken cancellationToken)
    {
        var next = _endpoints.ToDictionary(e => e.Id, _ => DateTimeOffset.MinValue, StringComparer.Ordinal);
        var running = new Dictionary<string, Task>(StringComparer.Ordinal);
        while (!cancellationToken.IsCancellationRequested)
        {
            var now = _options.TimeProvider.GetUtcNow();
            foreach (var endpoint in _endpoints)
            {
                if (running.TryGetValue(endpoint.Id, out var run))
                {
                    if (!run.IsCompleted)
                    {
                        continue;
                    }

                    running.Remove(endpoint.Id);
                }

                var state = _breakers.GetValueOrDefault(endpoint.Id, "unknown");
                var interval = state is "open" or "half_open" ? _options.OpenInterval : _options.Interval;
                // A breaker that opened since the last run is probed on the faster interval at once.
                if (now >= next[endpoint.Id] || (next[endpoint.Id] - now > interval))
                {
                    next[endpoint.Id] = now + interval;
                    running[endpoint.Id] = RunAsync(endpoint, state, cancellationToken);
                }
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), _options.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await Task.WhenAll(running.Values).ConfigureAwait(false);
    }

    // One golden-set run against one endpoint; its outcomes are reported as one batch.
    private async Task RunAsync(UpstreamEndpoint endpoint, string breakerState, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _status.Run(endpoint.Id, breakerState);
        var run = Guid.NewGuid().ToString("N")[..12];
        try
        {
            foreach (var prompt in _golden)
            {
                var reserve = checked((prompt.Prompt.Length / 2) + 16 + _options.MaxTokensPerProbe);
                if (!_budget.TryReserve(reserve))
                {
                    _status.SkippedForBudget(endpoint.Id);
                    var hour = _options.TimeProvider.GetUtcNow().ToUnixTimeSeconds() / 3600;
                    if (Interlocked.Exchange(ref _budgetLoggedHour, hour) != hour)
                    {
                        LogBudgetSpent(_logger, _budget.TokensPerHour, _budget.SpentThisHour);
                    }

                    break;
                }

                var call = await _caller.CallAsync(endpoint, prompt.Prompt, _options.MaxTokensPerProbe, _options.ProbeTimeout, cancellationToken).ConfigureAwait(false);
                _budget.Settle(reserve, call.InputTokens + call.OutputTokens);
                var verdict = call.Status == OutcomeStatus.Success
                    ? (prompt.Passes(call.Content) ? QualityVerdict.Pass : QualityVerdict.Fail)
                    : QualityVerdict.Unspecified;
                var price = _prices.GetValueOrDefault(endpoint.Id);
                var usd = ((price.Input * call.InputTokens) + (price.Output * call.OutputTokens)) / 1000m;
                _status.Probed(endpoint.Id, call.Status, verdict, call.InputTokens, call.OutputTokens, usd, call.Model);
                var outcome = new Outcome
                {
                    EndpointId = endpoint.Id,
                    Synthetic = true,
                    RequestId = $"probe:{run}:{prompt.Id}",
                    Status = call.Status,
                    HttpStatus = call.HttpStatus,
                    LatencyMs = Math.Min((long)call.Latency.TotalMilliseconds, 86_400_000),
                    InputTokens = Math.Min(call.InputTokens, 1_000_000_000),
                    OutputTokens = Math.Min(call.OutputTokens, 1_000_000_000),
                    RetryAfterMs = call.RetryAfter is { } r && r > TimeSpan.Zero ? Math.Min((long)r.TotalMilliseconds, 86_400_000) : 0,
                    ReturnedModelVersion = IsModelVersion(call.Model) ? call.Model : "",
                };
                if (verdict != QualityVerdict.Unspecified)
                {
                    outcome.Quality = new Quality { Verdict = verdict };
                }

                Enqueue(outcome);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or InvalidOperationException)
        {
            LogRunFailed(_logger, endpoint.Id, e.Message);
        }

        await ReportPendingAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Enqueue(Outcome outcome)
    {
        _pending.Enqueue(outcome);
        while (_pending.Count > MaxPendingOutcomes && _pending.TryDequeue(out _))
        {
            // Bounded while the control plane is unreachable: the oldest verdicts matter least.
        }
    }

    // Reports everything pending as one batch; a failed batch stays pending (request ids make a re-sent outcome count once).
    private async Task ReportPendingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _reportGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        try
        {
            var batch = new List<Outcome>();
            while (batch.Count < 1000 && _pending.TryDequeue(out var outcome))
            {
                batch.Add(outcome);
            }

            if (batch.Count == 0)
            {
                return;
            }

            try
            {
                var ack = await _client.ReportBatchAsync(batch, cancellationToken).ConfigureAwait(false);
                _status.Reported((int)ack.Accepted, (int)ack.Rejected);
                if (ack.Rejected > 0)
                {
                    LogRejected(_logger, ack.Rejected, string.Join("; ", ack.Errors.Take(3)));
                }
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException or HttpRequestException)
            {
                _status.Reported(0, batch.Count);
                foreach (var outcome in batch)
                {
                    Enqueue(outcome);
                }

                LogReportFailed(_logger, batch.Count, e.Message);
            }
        }
        finally
        {
            _reportGate.Release();
        }
    }

    // The control plane accepts at most 128 printable ASCII characters without spaces; anything else is not reported.
    private static bool IsModelVersion(string model) => model.Length is > 0 and <= 128 && model.All(c => c is >= '!' and <= '~');

    [LoggerMessage(Level = LogLevel.Warning, Message = "Probe budget of {Budget} tokens this hour is spent ({Spent}); probing stops until the next hour.")]
    private static partial void LogBudgetSpent(ILogger logger, long budget, long spent);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WatchRoutingTable failed ({Status}); retrying.")]
    private static partial void LogWatchFailed(ILogger logger, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Golden-set run against {Endpoint} failed: {Error}")]
    private static partial void LogRunFailed(ILogger logger, string endpoint, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The control plane rejected {Count} synthetic outcomes: {Errors}")]
    private static partial void LogRejected(ILogger logger, long count, string errors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reporting {Count} synthetic outcomes failed ({Error}); kept for the next report.")]
    private static partial void LogReportFailed(ILogger logger, int count, string error);
}
