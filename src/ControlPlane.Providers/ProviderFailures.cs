using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ControlPlane.Client;
using ControlPlane.Contracts.V1;

namespace ControlPlane.Providers;

/// <summary>How an upstream failure becomes an outcome: 429 → rate limited (with Retry-After), 5xx → server error,
/// a refused or reset connection → connection error, a 400 saying the context window was exceeded → invalid response
/// (the control plane chose the endpoint for this request's size, so the endpoint broke its declared window: another
/// endpoint may serve it), a content-filter refusal → content filter, 401/403/404 → server error (the proxy cannot use
/// the endpoint), any other 4xx → client error (the caller's fault, not retried).</summary>
internal static class ProviderFailures
{
    /// <summary>Longest part of an upstream error body kept in the exception message.</summary>
    private const int MaxMessage = 512;

    public static ProviderCallException FromStatus(HttpResponseMessage response, ReadOnlySpan<byte> body)
    {
        var status = (int)response.StatusCode;
        var text = Encoding.UTF8.GetString(body.Length > 8192 ? body[..8192] : body);
        var message = $"upstream answered HTTP {status}: {Shorten(text)}";
        if (status == 429)
        {
            return new ProviderCallException(OutcomeStatus.RateLimited, status, RetryAfter(response.Headers), message);
        }

        if (status >= 500)
        {
            return new ProviderCallException(OutcomeStatus.ServerError, status, RetryAfter(response.Headers), message);
        }

        if (status is 401 or 403 or 404)
        {
            return new ProviderCallException(OutcomeStatus.ServerError, status, message: message);
        }

        if (text.Contains("context_length_exceeded", StringComparison.Ordinal) || text.Contains("prompt is too long", StringComparison.OrdinalIgnoreCase))
        {
            return new ProviderCallException(OutcomeStatus.InvalidResponse, status, message: message);
        }

        if (text.Contains("content_filter", StringComparison.Ordinal) || text.Contains("content_policy_violation", StringComparison.Ordinal))
        {
            return new ProviderCallException(OutcomeStatus.ContentFilter, status, message: message);
        }

        return new ProviderCallException(OutcomeStatus.ClientError, status, message: message);
    }

    public static ProviderCallException Connection(Exception error, bool final) =>
        new(OutcomeStatus.ConnectionError, 0, null, $"upstream connection failed: {error.Message}", error) { Final = final };

    public static ProviderCallException Invalid(string why, bool final, int httpStatus = 200) =>
        new(OutcomeStatus.InvalidResponse, httpStatus, null, $"upstream answer unusable: {why}") { Final = final };

    public static TimeSpan? RetryAfter(HttpResponseHeaders headers)
    {
        if (headers.RetryAfter is { } after)
        {
            if (after.Delta is { } delta)
            {
                return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
            }

            if (after.Date is { } date)
            {
                var wait = date - DateTimeOffset.UtcNow;
                return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
            }
        }

        if (headers.TryGetValues("retry-after-ms", out var values) && long.TryParse(values.FirstOrDefault(), out var ms) && ms is >= 0 and < 86_400_000)
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        return null;
    }

    /// <summary>True for an HTTP status the proxy should pass to its caller as is (a client error).</summary>
    public static bool IsCallerFault(HttpStatusCode status) => (int)status is >= 400 and < 500 and not 429;

    private static string Shorten(string text)
    {
        var clean = new StringBuilder(Math.Min(text.Length, MaxMessage));
        foreach (var c in text)
        {
            if (clean.Length >= MaxMessage)
            {
                break;
            }

            clean.Append(char.IsControl(c) ? ' ' : c);
        }

        return clean.ToString();
    }
}
