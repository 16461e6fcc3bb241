using System.Buffers;
using System.Globalization;
using System.Net.Sockets;
using ControlPlane.Simulator.Faults;
using ControlPlane.Simulator.Generation;
using ControlPlane.Simulator.Protocol;
using ControlPlane.Simulator.Scenario;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Simulator.Endpoints;

internal sealed partial class SimulatedEndpoint
{
    /// <summary>Median output length in tokens before caps and faults.</summary>
    private const double OutputMedianTokens = 150;

    /// <summary>Log-normal sigma of the output length.</summary>
    private const double OutputSigma = 0.5;

    /// <summary>The longest answer text (characters); token counts beyond it are still reported in usage.</summary>
    private const int MaxContentChars = 256 * 1024;

    /// <summary>The most content frames of one stream.</summary>
    private const int MaxStreamDeltas = 64;

    /// <summary>Content frames a <c>reset_mid_stream</c> outage lets through before the reset.</summary>
    private const int DeltasBeforeReset = 2;

    /// <summary>Wall time between the last frame sent and a mid-stream reset: a reset drops data the peer's socket has
    /// not read yet, so the peer gets this long to read the frames it was sent (network time, not simulated time).</summary>
    private static readonly TimeSpan ResetGrace = TimeSpan.FromMilliseconds(200);

    private async Task HandleAsync(HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        try
        {
            await HandleCoreAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away (or the listener is stopping): nothing to answer.
        }
        catch (IOException) when (cancellationToken.IsCancellationRequested)
        {
            // Same, surfaced by a write.
        }
    }

    private async Task HandleCoreAsync(HttpContext context, CancellationToken cancellationToken)
    {
        string path = context.Request.Path.Value ?? "";
        ApiShape? shape = path switch
        {
            "/v1/chat/completions" => ApiShape.OpenAi,
            "/v1/messages" => ApiShape.Anthropic,
            _ => null,
        };
        var format = (shape ?? (Api == "anthropic" ? ApiShape.Anthropic : ApiShape.OpenAi)) == ApiShape.Anthropic ? WireFormat.Anthropic : WireFormat.OpenAi;
        if (shape is null)
        {
            await ErrorAsync(context, format, ErrorKind.NotFound, $"No route {path}: use POST /v1/chat/completions or POST /v1/messages.", null, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.Headers.Allow = "POST";
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        var body = await ReadBodyAsync(context.Request, cancellationToken).ConfigureAwait(false);
        var now = _options.TimeProvider.GetUtcNow();
        var active = _faults.ActiveOn(Id, now);
        bool duringFault = active.Count > 0;
        if (body is null)
        {
            Stats.Record("413", duringFault, 0, 0);
            await ErrorAsync(context, format, ErrorKind.TooLarge, $"The request body is larger than {_options.MaxRequestBodyBytes} bytes.", null, cancellationToken).ConfigureAwait(false);
            return;
        }

        var (request, problem) = ChatRequestParser.Parse(body.Value, shape.Value, _options.MaxMessages);
        if (request is null)
        {
            Stats.Record("400", duringFault, 0, 0);
            await ErrorAsync(context, format, ErrorKind.InvalidRequest, problem!.Message, problem.Param, cancellationToken).ConfigureAwait(false);
            return;
        }

        var draw = NextDraw();
        await AnswerAsync(context, format, request, draw, active, now, cancellationToken).ConfigureAwait(false);
    }

    private async Task AnswerAsync(
        HttpContext context, WireFormat format, ChatRequest request, RequestDraw draw, List<ArmedFault> active, DateTimeOffset now, CancellationToken cancellationToken)
    {
        bool duringFault = active.Count > 0;
        double latencyFactor = 1;
        double outputFactor = 1;
        string model = Entry.Descriptor.ModelVersion.Length > 0 ? Entry.Descriptor.ModelVersion : Entry.Descriptor.Model;
        bool drifted = false;
        bool reset = false;
        foreach (var fault in active)
        {
            var spec = fault.Spec;
            if (!draw.Hits(spec.Kind, spec.Share))
            {
                continue;
            }

            switch (spec.Kind)
            {
                case FaultKind.Outage when spec.Mode is OutageMode.Http500 or OutageMode.Http503:
                    var kind = spec.Mode == OutageMode.Http500 ? ErrorKind.Server : ErrorKind.Overloaded;
                    Stats.Record(WireFormat.Status(kind).ToString(CultureInfo.InvariantCulture), duringFault, 0, 0);
                    await ErrorAsync(context, format, kind, kind == ErrorKind.Server
                        ? "The server had an error while processing your request. Sorry about that!"
                        : "The engine is currently overloaded, please try again later.", null, cancellationToken).ConfigureAwait(false);
                    return;
                case FaultKind.Outage:
                    // reset_mid_stream, or a connection that slipped in while a refused outage was closing the port.
                    reset = true;
                    break;
                case FaultKind.RateLimit when spec.Tpm is { } tpm:
                    if (Minute.Used(now) >= tpm)
                    {
                        await RateLimitedAsync(context, format, TokenMinute.SecondsToNextMinute(now), duringFault,
                            $"Rate limit reached for {model}: tokens per min (TPM): Limit {tpm}, Used {Minute.Used(now)}.", cancellationToken).ConfigureAwait(false);
                        return;
                    }

                    break;
                case FaultKind.RateLimit:
                    await RateLimitedAsync(context, format, (int)Math.Ceiling(spec.RetryAfter.TotalSeconds), duringFault,
                        $"Rate limit reached for {model}. Please try again later.", cancellationToken).ConfigureAwait(false);
                    return;
                case FaultKind.ContextWindow:
                    await ContextExceededAsync(context, format, Math.Max(request.InputTokens, (long)Entry.Descriptor.ContextWindow + 1), duringFault, cancellationToken).ConfigureAwait(false);
                    return;
                case FaultKind.Latency:
                    latencyFactor *= spec.Factor;
                    break;
                case FaultKind.QualityDrift:
                    drifted = true;
                    break;
                case FaultKind.ModelChange:
                    model = spec.ModelVersion ?? model;
                    break;
                case FaultKind.RunawayOutput:
                    outputFactor *= spec.OutputFactor;
                    break;
            }
        }

        if (request.InputTokens > Entry.Descriptor.ContextWindow)
        {
            await ContextExceededAsync(context, format, request.InputTokens, duringFault, cancellationToken).ConfigureAwait(false);
            return;
        }

        double sampled = Math.Clamp(Math.Round(OutputMedianTokens * Math.Exp(OutputSigma * Math.Clamp(draw.OutputZ, -3, 3))), 8, 4096);
        long wanted = (long)Math.Min(ChatRequestParser.MaxOutputTokensCap, Math.Round(sampled * outputFactor));
        long outputTokens = request.MaxTokens is { } cap ? Math.Min(wanted, cap) : wanted;
        bool truncated = outputTokens < wanted;
        var ttft = Latency.Ttft(draw.TtftZ) * latencyFactor;
        double throughput = Latency.Throughput(draw.ThroughputZ) / latencyFactor;
        string marker = drifted ? AnswerText.Drifted(request.Prompt) : AnswerText.Expected(request.Prompt);
        var answer = new Answer(
            NextId(format == WireFormat.Anthropic ? "msg_sim_" : "chatcmpl-sim-"),
            model,
            AnswerText.Compose(marker, (int)Math.Min(outputTokens, int.MaxValue), MaxContentChars),
            request.InputTokens,
            outputTokens,
            truncated,
            now.ToUnixTimeSeconds());

        if (reset)
        {
            Stats.Record("reset", duringFault, 0, 0);
        }
        else
        {
            Stats.Record("200", duringFault, answer.InputTokens, answer.OutputTokens);
            Minute.Add(now, answer.InputTokens + answer.OutputTokens);
        }

        await DelayAsync(ttft, cancellationToken).ConfigureAwait(false);
        if (!request.Stream)
        {
            if (reset)
            {
                Reset(context);
                return;
            }

            await DelayAsync(TimeSpan.FromSeconds(outputTokens / throughput), cancellationToken).ConfigureAwait(false);
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/json";
            context.Response.Headers["x-request-id"] = answer.Id;
            await context.Response.Body.WriteAsync(format.Complete(answer), cancellationToken).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["x-request-id"] = answer.Id;
        var pieces = Split(answer.Content, MaxStreamDeltas);
        double tokensPerPiece = (double)outputTokens / pieces.Count;
        var pause = TimeSpan.FromSeconds(tokensPerPiece / throughput);
        if (!reset && Scaled(pause) < 1)
        {
            // Nothing to pace (latency scale 0, the proxy-overhead benchmark): the same frames in one write.
            var frames = new ArrayBufferWriter<byte>(4096);
            frames.Write(format.StreamStart(answer));
            foreach (string piece in pieces)
            {
                frames.Write(format.StreamDelta(answer, piece));
            }

            frames.Write(format.StreamEnd(answer));
            await context.Response.Body.WriteAsync(frames.WrittenMemory, cancellationToken).ConfigureAwait(false);
            return;
        }

        await context.Response.Body.WriteAsync(format.StreamStart(answer), cancellationToken).ConfigureAwait(false);
        for (int i = 0; i < pieces.Count; i++)
        {
            if (i > 0)
            {
                await DelayAsync(pause, cancellationToken).ConfigureAwait(false);
            }

            await context.Response.Body.WriteAsync(format.StreamDelta(answer, pieces[i]), cancellationToken).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (reset && i + 1 >= DeltasBeforeReset)
            {
                await Task.Delay(ResetGrace, TimeProvider.System, cancellationToken).ConfigureAwait(false);
                Reset(context);
                return;
            }
        }

        if (reset)
        {
            await Task.Delay(ResetGrace, TimeProvider.System, cancellationToken).ConfigureAwait(false);
            Reset(context);
            return;
        }

        await context.Response.Body.WriteAsync(format.StreamEnd(answer), cancellationToken).ConfigureAwait(false);
    }

    private async Task RateLimitedAsync(HttpContext context, WireFormat format, int retryAfterSeconds, bool duringFault, string message, CancellationToken cancellationToken)
    {
        Stats.Record("429", duringFault, 0, 0);
        context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        await ErrorAsync(context, format, ErrorKind.RateLimit, message, null, cancellationToken).ConfigureAwait(false);
    }

    private async Task ContextExceededAsync(HttpContext context, WireFormat format, long inputTokens, bool duringFault, CancellationToken cancellationToken)
    {
        Stats.Record("400", duringFault, 0, 0);
        int window = Entry.Descriptor.ContextWindow;
        string message = format == WireFormat.Anthropic
            ? $"prompt is too long: {inputTokens} tokens > {window} maximum"
            : $"This model's maximum context length is {window} tokens. However, your messages resulted in {inputTokens} tokens. Please reduce the length of the messages.";
        await ErrorAsync(context, format, ErrorKind.ContextLength, message, format == WireFormat.Anthropic ? null : "messages", cancellationToken).ConfigureAwait(false);
    }

    private static async Task ErrorAsync(HttpContext context, WireFormat format, ErrorKind kind, string message, string? param, CancellationToken cancellationToken)
    {
        context.Response.StatusCode = WireFormat.Status(kind);
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(format.Error(kind, message, param), cancellationToken).ConfigureAwait(false);
    }

    // A simulated delay after the latency scale, in milliseconds.
    private double Scaled(TimeSpan delay) => delay.TotalMilliseconds * _options.LatencyScale;

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        double scaled = Scaled(delay);
        return scaled < 1 || !double.IsFinite(scaled)
            ? Task.CompletedTask
            : Task.Delay(TimeSpan.FromMilliseconds(Math.Min(scaled, TimeSpan.FromHours(1).TotalMilliseconds)), _options.TimeProvider, cancellationToken);
    }

    // Reads the body up to the limit; null when it is larger.
    private async Task<ReadOnlyMemory<byte>?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        long limit = _options.MaxRequestBodyBytes;
        if (request.ContentLength > limit)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        try
        {
            while (true)
            {
                int read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                if (buffer.Length + read > limit)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }

        return buffer.ToArray();
    }

    // Cuts a connection with a TCP reset (linger 0), not a graceful close.
    private static void Reset(HttpContext context)
    {
        if (context.Features.Get<IConnectionSocketFeature>()?.Socket is Socket socket)
        {
            socket.LingerState = new LingerOption(true, 0);
        }

        context.Abort();
    }

    // Splits the text at spaces into at most maxPieces pieces of about equal size.
    private static List<string> Split(string text, int maxPieces)
    {
        var words = text.Split(' ');
        int perPiece = Math.Max(1, (int)Math.Ceiling((double)words.Length / maxPieces));
        var pieces = new List<string>();
        for (int i = 0; i < words.Length; i += perPiece)
        {
            string piece = string.Join(' ', words, i, Math.Min(perPiece, words.Length - i));
            pieces.Add(i == 0 ? piece : " " + piece);
        }

        return pieces;
    }
}
