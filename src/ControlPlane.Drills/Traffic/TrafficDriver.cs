using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ControlPlane.Drills.Scenarios;
using ControlPlane.Drills.Targets;

namespace ControlPlane.Drills.Traffic;

/// <summary>Open-loop traffic: each class's requests fire on their schedule (request k of a class at rate r at
/// k / r seconds, plus a per-class phase), never waiting for earlier answers. Every other request streams (TTFT is
/// measured on those). In-flight requests are bounded; a request the bound refuses is recorded as failed.</summary>
internal sealed class TrafficDriver
{
    /// <summary>Most requests in flight at once.</summary>
    public const int MaxInFlight = 4096;

    /// <summary>The <c>max_tokens</c> of every drill request: short answers (under 2 s on the simulator's slowest
    /// model family), so a drill measures the fault it plays rather than timeouts of long generations.</summary>
    public const int MaxTokens = 48;

    /// <summary>Longest a drill response body is read.</summary>
    public const int MaxResponseBytes = 4 * 1024 * 1024;

    private readonly HttpClient _http;
    private readonly IReadOnlyList<IDrillTarget> _targets;
    private readonly DrillClock _clock;
    private readonly string _scenario;
    private readonly TimeSpan _requestTimeout;
    private readonly ConcurrentQueue<RequestSample> _samples = new();
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();
    private long _sent;

    public TrafficDriver(HttpClient http, IReadOnlyList<IDrillTarget> targets, DrillClock clock, string scenario, TimeSpan requestTimeout)
    {
        if (targets.Count == 0)
        {
            throw new ArgumentException("At least one target is needed.", nameof(targets));
        }

        _http = http;
        _targets = targets;
        _clock = clock;
        _scenario = scenario;
        _requestTimeout = requestTimeout;
    }

    /// <summary>Requests sent so far.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Requests answered (or failed) so far.</summary>
    public int Completed => _samples.Count;

    /// <summary>Requests answered so far.</summary>
    public IReadOnlyCollection<RequestSample> Samples => _samples;

    /// <summary>Drives every class of <paramref name="classes"/> at its rate until <paramref name="duration"/> on the
    /// drill clock, then waits up to <paramref name="drain"/> for the requests still in flight.</summary>
    public async Task RunAsync(IReadOnlyList<string> classes, TrafficPlan plan, TimeSpan duration, TimeSpan drain, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var loops = new List<Task>();
        for (var i = 0; i < classes.Count; i++)
        {
            var rate = plan.RateOf(classes[i]);
            if (rate > 0)
            {
                // Classes start at different phases so their requests do not all fire in the same millisecond.
                var phase = (double)i / classes.Count / rate;
                loops.Add(ClassLoopAsync(classes[i], rate, phase, duration.TotalSeconds, stop.Token));
            }
        }

        await Task.WhenAll(loops).ConfigureAwait(false);
        var pending = _inFlight.Keys.ToArray();
        if (pending.Length > 0)
        {
            await Task.WhenAny(Task.WhenAll(pending), Task.Delay(drain, cancellationToken)).ConfigureAwait(false);
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(_inFlight.Keys.ToArray()).ConfigureAwait(false);
        }
    }

    private async Task ClassLoopAsync(string workloadClass, double rate, double phase, double endSeconds, CancellationToken cancellationToken)
    {
        for (long k = 0; ; k++)
        {
            var at = phase + k / rate;
            if (at >= endSeconds || cancellationToken.IsCancellationRequested)
            {
                return;
            }

            var wait = at - _clock.Now;
            if (wait > 0.001)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(wait), _clock.Time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            Interlocked.Increment(ref _sent);
            if (_inFlight.Count >= MaxInFlight)
            {
                _samples.Enqueue(new RequestSample(workloadClass, _clock.Now, 0, null, 0, false, null, default, 0, 0, false) { Error = "driver: too many requests in flight" });
                continue;
            }

            var task = SendAsync(workloadClass, k, stream: k % 2 == 1, cancellationToken);
            _inFlight.TryAdd(task, 0);
            _ = task.ContinueWith((t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _inFlight,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task SendAsync(string workloadClass, long sequence, bool stream, CancellationToken drillStop)
    {
        await Task.Yield();
        _samples.Enqueue(await ExchangeAsync(workloadClass, sequence, (int)(sequence % _targets.Count), stream, drillStop).ConfigureAwait(false));
    }

    /// <summary>Sends one request of <paramref name="workloadClass"/> through replica <paramref name="replica"/> and
    /// returns what happened, without recording it.</summary>
    public Task<RequestSample> SendOneAsync(string workloadClass, long sequence, int replica, CancellationToken cancellationToken) =>
        ExchangeAsync(workloadClass, sequence, replica, stream: false, cancellationToken);

    private async Task<RequestSample> ExchangeAsync(string workloadClass, long sequence, int replica, bool stream, CancellationToken drillStop)
    {
        var target = _targets[replica];
        var prompt = DrillPrompts.Prompt(_scenario, workloadClass, sequence);
        var expect = DrillPrompts.Expect(prompt);
        var start = _clock.Now;
        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(drillStop);
        timeout.CancelAfter(_requestTimeout);
        var body = JsonSerializer.Serialize(new
        {
            model = workloadClass,
            messages = new[] { new { role = "user", content = prompt } },
            max_tokens = MaxTokens,
            stream,
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target.BaseUri, "v1/chat/completions"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        target.Prepare(request, workloadClass, expect);
        RequestSample sample;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            var served = target.Read(response);
            var status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                var error = await ReadLimitedAsync(response, timeout.Token).ConfigureAwait(false);
                sample = new RequestSample(workloadClass, start, Elapsed(started), null, status, false, null, served, 0, 0, stream)
                {
                    Error = $"HTTP {status}: {Truncate(error)}",
                };
            }
            else if (stream && response.Content.Headers.ContentType?.MediaType == "text/event-stream")
            {
                sample = await ReadStreamAsync(response, workloadClass, start, started, expect, served, timeout.Token).ConfigureAwait(false);
            }
            else
            {
                var text = await ReadLimitedAsync(response, timeout.Token).ConfigureAwait(false);
                sample = ParseJson(text, workloadClass, start, started, expect, served, status, stream);
            }
        }
        catch (OperationCanceledException) when (drillStop.IsCancellationRequested)
        {
            sample = new RequestSample(workloadClass, start, Elapsed(started), null, 0, false, null, default, 0, 0, stream) { Abandoned = true, Error = "cut off at the end of the drill" };
        }
        catch (OperationCanceledException)
        {
            sample = new RequestSample(workloadClass, start, Elapsed(started), null, 0, false, null, default, 0, 0, stream) { Error = "client timeout" };
        }
        catch (HttpRequestException e)
        {
            sample = new RequestSample(workloadClass, start, Elapsed(started), null, 0, false, null, default, 0, 0, stream) { Error = Truncate(e.Message) };
        }
        catch (IOException e)
        {
            sample = new RequestSample(workloadClass, start, Elapsed(started), null, 0, false, null, default, 0, 0, stream) { Error = Truncate(e.Message) };
        }

        return sample;
    }

    private static RequestSample ParseJson(string text, string workloadClass, double start, long started, string expect, ServedBy served, int status, bool stream)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            var content = root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0
                && choices[0].TryGetProperty("message", out var message) && message.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String
                ? c.GetString() ?? "" : null;
            var (input, output) = Usage(root);
            return new RequestSample(workloadClass, start, Elapsed(started), null, status, content is not null, content?.Contains(expect, StringComparison.Ordinal),
                served, input, output, stream)
            {
                Error = content is null ? "answer without choices[0].message.content" : null,
            };
        }
        catch (JsonException)
        {
            return new RequestSample(workloadClass, start, Elapsed(started), null, status, false, null, served, 0, 0, stream) { Error = "answer is not JSON" };
        }
    }

    private static async Task<RequestSample> ReadStreamAsync(HttpResponseMessage response, string workloadClass, double start, long started, string expect,
        ServedBy served, CancellationToken cancellationToken)
    {
        double? ttft = null;
        var content = new StringBuilder();
        long input = 0, output = 0, read = 0;
        var done = false;
        string? error = null;
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            read += line.Length;
            if (read > MaxResponseBytes)
            {
                error = "stream larger than the drill reads";
                break;
            }

            if (!line.StartsWith("data:", StringComparison.Ordinal))
            {
                continue;
            }

            var data = line.AsSpan(5).Trim();
            if (data.SequenceEqual("[DONE]"))
            {
                done = true;
                break;
            }

            try
            {
                using var doc = JsonDocument.Parse(data.ToString());
                var root = doc.RootElement;
                if (root.TryGetProperty("error", out var e))
                {
                    error = "error in stream: " + Truncate(e.ToString());
                    break;
                }

                if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array)
                {
                    foreach (var choice in choices.EnumerateArray())
                    {
                        if (choice.TryGetProperty("delta", out var delta) && delta.TryGetProperty("content", out var piece)
                            && piece.ValueKind == JsonValueKind.String && piece.GetString() is { Length: > 0 } s)
                        {
                            ttft ??= Elapsed(started);
                            content.Append(s);
                        }
                    }
                }

                var (i, o) = Usage(root);
                input = Math.Max(input, i);
                output = Math.Max(output, o);
            }
            catch (JsonException)
            {
                error = "stream chunk is not JSON";
                break;
            }
        }

        var ok = done && error is null;
        return new RequestSample(workloadClass, start, Elapsed(started), ttft, (int)response.StatusCode, ok,
            content.Length > 0 ? content.ToString().Contains(expect, StringComparison.Ordinal) : null, served, input, output, true)
        {
            Error = ok ? null : error ?? "stream ended before [DONE]",
        };
    }

    private static (long Input, long Output) Usage(JsonElement root)
    {
        if (!root.TryGetProperty("usage", out var usage) || usage.ValueKind != JsonValueKind.Object)
        {
            return (0, 0);
        }

        static long Read(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) && n is >= 0 and < 100_000_000 ? n : 0;
        return (Read(usage, "prompt_tokens"), Read(usage, "completion_tokens"));
    }

    private static async Task<string> ReadLimitedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[64 * 1024];
        using var memory = new MemoryStream();
        int n;
        while ((n = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (memory.Length + n > MaxResponseBytes)
            {
                throw new IOException("answer larger than the drill reads");
            }

            memory.Write(buffer, 0, n);
        }

        return Encoding.UTF8.GetString(memory.GetBuffer(), 0, (int)memory.Length);
    }

    private static double Elapsed(long started) => Stopwatch.GetElapsedTime(started).TotalMilliseconds;

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200];

    /// <summary>An HTTP client fit for open-loop traffic (many connections, no client-wide timeout).</summary>
    public static HttpClient CreateClient() => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 2048,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
        DefaultRequestHeaders = { Accept = { new MediaTypeWithQualityHeaderValue("application/json"), new MediaTypeWithQualityHeaderValue("text/event-stream") } },
    };
}
