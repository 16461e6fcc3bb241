using System.Diagnostics;
using ControlPlane.Client;
using ControlPlane.Contracts.V1;
using ControlPlane.Providers;

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

/// <summary>Calls an endpoint directly with one golden prompt, non-streaming, through <c>ControlPlane.Providers</c>
/// (the proxy's upstream clients: OpenAI chat completions or Anthropic messages, bounded answers, failures mapped to an
/// <see cref="OutcomeStatus"/> with Retry-After), under the probe's own timeout.</summary>
internal sealed class UpstreamCaller(ProviderClient client)
{
    public async Task<ProbeCall> CallAsync(UpstreamEndpoint endpoint, string prompt, int maxTokens, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var request = ChatRequest.FromPrompt(prompt, maxTokens);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            var answer = await client.SendAsync(endpoint, request, deadline.Token).ConfigureAwait(false);
            return new ProbeCall(OutcomeStatus.Success, 200, Stopwatch.GetElapsedTime(started), answer.Content, answer.Model ?? "",
                Math.Max(0, answer.InputTokens), Math.Max(0, answer.OutputTokens), null);
        }
        catch (ProviderCallException failure)
        {
            return new ProbeCall(failure.Status, failure.HttpStatus, Stopwatch.GetElapsedTime(started), null, "", 0, 0, failure.RetryAfter);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ProbeCall(OutcomeStatus.Timeout, 0, Stopwatch.GetElapsedTime(started), null, "", 0, 0, null);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return new ProbeCall(OutcomeStatus.ConnectionError, 0, Stopwatch.GetElapsedTime(started), null, "", 0, 0, null);
        }
    }
}
