using System.Net.Http.Headers;
using System.Net.Mime;
using System.Text;

namespace ControlPlane.Server.AdminCli;

/// <summary>Sends <see cref="AdminRequest"/>s to the admin HTTP API with the CLI's credential and timeout.</summary>
internal sealed class AdminApi : IDisposable
{
    /// <summary>Largest response body read into memory (exports are streamed instead).</summary>
    public const int MaxResponseBytes = 64 * 1024 * 1024;

    private readonly HttpClient _http;
    private readonly CliConnection _connection;

    /// <summary>A client for <paramref name="connection"/>, through <paramref name="handler"/> when given.</summary>
    public AdminApi(CliConnection connection, HttpMessageHandler? handler)
    {
        _connection = connection;
        _http = new HttpClient(handler ?? new SocketsHttpHandler(), disposeHandler: handler is null)
        {
            Timeout = connection.Timeout,
            MaxResponseContentBufferSize = MaxResponseBytes,
        };
    }

    /// <summary>Sends the request and reads the whole answer.</summary>
    /// <exception cref="CliUnavailableException">The node could not be reached or did not answer in time.</exception>
    public async Task<AdminResponse> SendAsync(AdminRequest request, CancellationToken cancellation)
    {
        using var message = Message(request);
        try
        {
            using var response = await _http.SendAsync(message, cancellation);
            var body = await response.Content.ReadAsStringAsync(cancellation);
            return new AdminResponse((int)response.StatusCode, body);
        }
        catch (Exception error) when (Unreachable(error, cancellation))
        {
            throw Unavailable(error);
        }
    }

    /// <summary>Sends the request and, when it succeeds, copies the answer to <paramref name="destination"/> as it
    /// arrives; an error answer is read whole and returned without touching <paramref name="destination"/>.</summary>
    public async Task<AdminResponse> StreamAsync(AdminRequest request, Func<Stream> destination, CancellationToken cancellation)
    {
        using var message = Message(request);
        try
        {
            using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellation);
            if (!response.IsSuccessStatusCode)
            {
                return new AdminResponse((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellation));
            }

            await using var source = await response.Content.ReadAsStreamAsync(cancellation);
            var target = destination();
            await source.CopyToAsync(target, cancellation);
            await target.FlushAsync(cancellation);
            return new AdminResponse((int)response.StatusCode, "");
        }
        catch (Exception error) when (Unreachable(error, cancellation))
        {
            throw Unavailable(error);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();

    private HttpRequestMessage Message(AdminRequest request)
    {
        var message = new HttpRequestMessage(request.Method, new Uri(_connection.BaseUrl.AbsoluteUri.TrimEnd('/') + "/admin/v1" + request.Path));
        if (_connection.Key is { } key)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        if (request.Body is { } body)
        {
            message.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, MediaTypeNames.Application.Json);
        }

        return message;
    }

    private static bool Unreachable(Exception error, CancellationToken cancellation) =>
        error is HttpRequestException or IOException || (error is TaskCanceledException && !cancellation.IsCancellationRequested);

    private CliUnavailableException Unavailable(Exception error) => error is TaskCanceledException
        ? new CliUnavailableException($"no answer from {_connection.BaseUrl} within {_connection.Timeout.TotalSeconds:0.###} s (--timeout)", error)
        : new CliUnavailableException($"cannot reach {_connection.BaseUrl}: {error.Message}", error);
}

/// <summary>An answer of the admin API.</summary>
/// <param name="Status">The HTTP status code.</param>
/// <param name="Body">The body as text (JSON or problem+json; empty for a streamed export).</param>
internal sealed record AdminResponse(int Status, string Body);

/// <summary>The node could not be reached or did not answer in time (exit code <see cref="CliExit.Unavailable"/>).</summary>
internal sealed class CliUnavailableException : Exception
{
    /// <summary>Creates the error.</summary>
    public CliUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the error.</summary>
    public CliUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error.</summary>
    public CliUnavailableException()
    {
    }
}
