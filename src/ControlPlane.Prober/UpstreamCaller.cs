using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ControlPlane.Contracts.V1;

namespace ControlPlane.Prober;

/// <summary>What one probe call returned.</summary>
/// <param name="Status">How the call ended.</param>
/// <param name="HttpStatus">The HTTP status (0 when none arrived).</param>
/// <param name="Latency">Wall time of the call.</param>
/// <param name="Content">The answer's text (null unless it succeeded).</param>
/// <param name="Model">The <c>model</c> the provider said it served (empty when unknown).</param>
/// <param name="InputTokens">Input tokens billed.</param>
/// <param name="OutputTokens">Output tokens billed.</param>
/// <param name="RetryAfter">A 429's Retry-After.</param>
internal sealed record ProbeCall(OutcomeStatus Status, int HttpStatus, TimeSpan Latency, string? Content, string Model,
    long InputTokens, long OutputTokens, TimeSpan? RetryAfter);

/// <summary>Calls an endpoint directly with one golden prompt, non-streaming, in its own API shape (OpenAI chat
/// completions or Anthropic messages), and maps the result to an <see cref="OutcomeStatus"/>. The answer body is read up
/// to <see cref="MaxResponseBytes"/>. (To be replaced by <c>ControlPlane.Providers</c>' clients once the proxy part lands.)</summary>
internal sealed class UpstreamCaller(HttpClient http)
{
    /// <summary>The largest answer body read.</summary>
    public const int MaxResponseBytes = 1024 * 1024;

    public async Task<ProbeCall> CallAsync(UpstreamEndpoint endpoint, string prompt, int maxTokens, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var request = Build(endpoint, prompt, maxTokens);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var body = await ReadBoundedAsync(response.Content, deadline.Token).ConfigureAwait(false);
            var latency = Stopwatch.GetElapsedTime(started);
            if (!response.IsSuccessStatusCode)
            {
                var outcome = status switch
                {
                    429 => OutcomeStatus.RateLimited,
                    >= 500 => OutcomeStatus.ServerError,
                    _ => OutcomeStatus.ClientError,
                };
                return new ProbeCall(outcome, status, latency, null, "", 0, 0, RetryAfter(response.Headers.RetryAfter));
            }

            return Parse(endpoint.Api, body, status, latency);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ProbeCall(OutcomeStatus.Timeout, 0, Stopwatch.GetElapsedTime(started), null, "", 0, 0, null);
        }
        catch (HttpRequestException e) when (e.InnerException is SocketException || e.HttpRequestError is HttpRequestError.ConnectionError)
        {
            return new ProbeCall(OutcomeStatus.ConnectionError, 0, Stopwatch.GetElapsedTime(started), null, "", 0, 0, null);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            // A reset mid-answer or a broken body.
            return new ProbeCall(OutcomeStatus.ServerError, 0, Stopwatch.GetElapsedTime(started), null, "", 0, 0, null);
        }
    }

    private static HttpRequestMessage Build(UpstreamEndpoint endpoint, string prompt, int maxTokens)
    {
        var anthropic = endpoint.Api == "anthropic";
        var body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model"] = endpoint.Model,
            ["max_tokens"] = maxTokens,
            ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = prompt } },
        });
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(endpoint.Url, anthropic ? "/v1/messages" : "/v1/chat/completions"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        var key = endpoint.ApiKeyEnvironment is { } variable ? Environment.GetEnvironmentVariable(variable) : null;
        if (anthropic)
        {
            request.Headers.Add("anthropic-version", "2023-06-01");
            if (key is not null)
            {
                request.Headers.Add("x-api-key", key);
            }
        }
        else if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return request;
    }

    private static ProbeCall Parse(string api, byte[] body, int status, TimeSpan latency)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() ?? "" : "";
            string? content;
            long input, output;
            var usage = root.GetProperty("usage");
            if (api == "anthropic")
            {
                content = string.Concat(root.GetProperty("content").EnumerateArray()
                    .Where(c => c.TryGetProperty("text", out _)).Select(c => c.GetProperty("text").GetString()));
                input = usage.GetProperty("input_tokens").GetInt64();
                output = usage.GetProperty("output_tokens").GetInt64();
            }
            else
            {
                content = root.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
                input = usage.GetProperty("prompt_tokens").GetInt64();
                output = usage.GetProperty("completion_tokens").GetInt64();
            }

            return new ProbeCall(OutcomeStatus.Success, status, latency, content ?? "", model, Math.Max(0, input), Math.Max(0, output), null);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or FormatException)
        {
            return new ProbeCall(OutcomeStatus.InvalidResponse, status, latency, null, "", 0, 0, null);
        }
    }

    private static async Task<byte[]> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxResponseBytes)
            {
                throw new IOException($"answer larger than {MaxResponseBytes} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static TimeSpan? RetryAfter(RetryConditionHeaderValue? header) =>
        header?.Delta is { } delta ? delta : header?.Date is { } date ? date - DateTimeOffset.UtcNow : null;
}
