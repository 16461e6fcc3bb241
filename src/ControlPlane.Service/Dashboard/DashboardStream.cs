using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Dashboard;

/// <summary>The dashboard's server-sent events: a <c>snapshot</c> event at once and then whenever the snapshot changed
/// (at most one per <see cref="DashboardOptions.SnapshotInterval"/>), a comment line as heartbeat when nothing changed
/// for <see cref="DashboardOptions.HeartbeatInterval"/>, an <c>unavailable</c> event while the snapshot cannot be built;
/// at most <see cref="DashboardOptions.MaxStreams"/> at a time per node; it ends when the client goes away.</summary>
internal sealed class DashboardStream(DashboardSnapshots snapshots, IOptions<DashboardOptions> options, TimeProvider time)
{
    /// <summary>The content type of the stream.</summary>
    public const string ContentType = "text/event-stream";

    private static readonly byte[] Heartbeat = Encoding.UTF8.GetBytes(": heartbeat\n\n");
    private static readonly byte[] Unavailable = Encoding.UTF8.GetBytes("event: unavailable\ndata: {\"detail\":\"the snapshot could not be built; retrying\"}\n\n");

    private readonly DashboardOptions _options = options.Value;
    private int _open;

    /// <summary>Streams currently open on this node.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Serves one stream until the client disconnects; 503 when the node already serves the maximum.</summary>
    public async Task ServeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Interlocked.Increment(ref _open) > _options.MaxStreams)
        {
            Interlocked.Decrement(ref _open);
            context.Response.Headers.RetryAfter = "5";
            await Results.Problem(detail: $"this node serves at most {_options.MaxStreams} dashboard streams at a time; retry later",
                statusCode: StatusCodes.Status503ServiceUnavailable, title: "Too many streams").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        try
        {
            await WriteAsync(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }

    private async Task WriteAsync(HttpContext context)
    {
        var aborted = context.RequestAborted;
        var response = context.Response;
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.Body.WriteAsync("retry: 3000\n\n"u8.ToArray(), aborted).ConfigureAwait(false);
        await response.Body.FlushAsync(aborted).ConfigureAwait(false);

        string? last = null;
        var lastWrite = time.GetUtcNow();
        while (!aborted.IsCancellationRequested)
        {
            byte[]? message;
            try
            {
                var snapshot = await snapshots.GetAsync(aborted).ConfigureAwait(false);
                // A change is any difference but the build time.
                var key = JsonSerializer.Serialize(snapshot with { At = default }, DashboardJson.Options);
                message = key == last ? null : Event("snapshot", JsonSerializer.SerializeToUtf8Bytes(snapshot, DashboardJson.Options));
                last = key;
            }
            catch (Exception error) when (error is not OperationCanceledException and not OutOfMemoryException)
            {
                message = Unavailable;
                last = null;
            }

            var now = time.GetUtcNow();
            if (message is null && now - lastWrite >= _options.HeartbeatInterval)
            {
                message = Heartbeat;
            }

            if (message is not null)
            {
                await response.Body.WriteAsync(message, aborted).ConfigureAwait(false);
                await response.Body.FlushAsync(aborted).ConfigureAwait(false);
                lastWrite = now;
            }

            await Task.Delay(_options.SnapshotInterval, time, aborted).ConfigureAwait(false);
        }
    }

    private static byte[] Event(string name, byte[] json)
    {
        var head = Encoding.UTF8.GetBytes($"event: {name}\ndata: ");
        var message = new byte[head.Length + json.Length + 2];
        head.CopyTo(message, 0);
        json.CopyTo(message, head.Length);
        message[^2] = (byte)'\n';
        message[^1] = (byte)'\n';
        return message;
    }
}

/// <summary>The JSON shape of the dashboard's data (camelCase, as the admin API).</summary>
internal static class DashboardJson
{
    /// <summary>Web defaults: camelCase names.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
