using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Alerting.Delivery;

/// <summary>How one HTTP attempt ended.</summary>
/// <param name="Delivered">The receiver answered 2xx.</param>
/// <param name="Retryable">A failure worth another attempt (connection, timeout, 408, 429, 5xx).</param>
/// <param name="Error">What went wrong, for the deliveries view (never the URL: a Slack webhook URL is a secret).</param>
/// <param name="RetryAfter">The receiver's <c>Retry-After</c>, when it gave one.</param>
internal readonly record struct AttemptOutcome(bool Delivered, bool Retryable, string? Error, TimeSpan? RetryAfter);

/// <summary>POSTs a payload to a receiver with the named <see cref="HttpClientName"/> client (short timeout, no
/// redirects) and classifies the answer. One attempt: retries are the outbox's, persisted with backoff.</summary>
internal sealed class AlertSender(IHttpClientFactory clients)
{
    /// <summary>The named HttpClient alert deliveries use.</summary>
    public const string HttpClientName = "controlplane-alerts";

    private const int MaxErrorLength = 300;

    public async Task<AttemptOutcome> SendAsync(ResolvedReceiver receiver, byte[] payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        ArgumentNullException.ThrowIfNull(payload);
        var client = clients.CreateClient(HttpClientName);
        try
        {
            using var content = new ByteArrayContent(payload);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            using var response = await client.PostAsync(receiver.Url, content, cancellationToken);
            int status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return new AttemptOutcome(true, false, null, null);
            }

            bool retryable = status >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
            TimeSpan? retryAfter = response.Headers.RetryAfter?.Delta;
            return new AttemptOutcome(false, retryable, Bound($"HTTP {status} {response.ReasonPhrase}"), retryAfter);
        }
        catch (HttpRequestException error)
        {
            return new AttemptOutcome(false, true, Bound($"connection failed: {error.HttpRequestError}"), null);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new AttemptOutcome(false, true, $"timed out after {client.Timeout.TotalSeconds:0.#} s", null);
        }
    }

    private static string Bound(string text) => text.Length <= MaxErrorLength ? text : text[..MaxErrorLength];
}

/// <summary>Configures the named client: the attempt timeout from <see cref="AlertDeliveryOptions"/>, no redirects
/// (a receiver URL is the one the fleet file names), no cookies.</summary>
internal static class AlertHttpClient
{
    public static void Add(IServiceCollection services) =>
        services.AddHttpClient(AlertSender.HttpClientName)
            .ConfigureHttpClient((provider, client) => client.Timeout = provider.GetRequiredService<IOptions<AlertDeliveryOptions>>().Value.AttemptTimeout)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                ConnectTimeout = TimeSpan.FromSeconds(5),
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            });
}
