using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Tests.Alerting;

/// <summary>What the receiver does with one request.</summary>
internal enum ReceiverReply
{
    Ok,
    ServerError,
    DropConnection,
    Hang,
}

/// <summary>One request a receiver got.</summary>
internal sealed record ReceivedAlert(string Path, JsonElement Body, DateTimeOffset FakeTime, ReceiverReply Reply, string? ContentType);

/// <summary>A real HTTP receiver: Kestrel on a free loopback port taking POSTs on any path, recording each with the
/// test's fake time, and answering per path from a script (200 once the script runs out).</summary>
internal sealed class AlertReceiverServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TimeProvider _time;
    private readonly ConcurrentQueue<ReceivedAlert> _received = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<ReceiverReply>> _scripts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ReceiverReply> _defaults = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _release = new();

    private AlertReceiverServer(WebApplication app, int port, TimeProvider time)
    {
        _app = app;
        _time = time;
        BaseUrl = $"http://127.0.0.1:{port}";
    }

    public string BaseUrl { get; }

    public IReadOnlyList<ReceivedAlert> Received => [.. _received];

    public IReadOnlyList<ReceivedAlert> At(string path) => [.. _received.Where(r => r.Path == path)];

    public static async Task<AlertReceiverServer> StartAsync(TimeProvider time)
    {
        int port = ControlPlane.Testing.FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var server = new AlertReceiverServer(app, port, time);
        app.MapPost("/{**path}", server.HandleAsync);
        await app.StartAsync();
        return server;
    }

    /// <summary>The next requests to <paramref name="path"/> get these replies, in order.</summary>
    public void Script(string path, params ReceiverReply[] replies)
    {
        var queue = _scripts.GetOrAdd(path, _ => new ConcurrentQueue<ReceiverReply>());
        foreach (var reply in replies)
        {
            queue.Enqueue(reply);
        }
    }

    /// <summary>What <paramref name="path"/> answers once its script is used up.</summary>
    public void Default(string path, ReceiverReply reply) => _defaults[path] = reply;

    public async ValueTask DisposeAsync()
    {
        await _release.CancelAsync();
        await _app.StopAsync(TimeSpan.FromSeconds(5).ToCancellationToken());
        await _app.DisposeAsync();
        _release.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        string path = context.Request.Path.Value ?? "/";
        using var body = await JsonDocument.ParseAsync(context.Request.Body);
        var reply = _scripts.TryGetValue(path, out var script) && script.TryDequeue(out var next) ? next
            : _defaults.TryGetValue(path, out var fallback) ? fallback : ReceiverReply.Ok;
        _received.Enqueue(new ReceivedAlert(path, body.RootElement.Clone(), _time.GetUtcNow(), reply, context.Request.ContentType));
        switch (reply)
        {
            case ReceiverReply.ServerError:
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                break;
            case ReceiverReply.DropConnection:
                context.Abort();
                break;
            case ReceiverReply.Hang:
                await Task.Delay(Timeout.Infinite, _release.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                context.Abort();
                break;
            default:
                context.Response.StatusCode = StatusCodes.Status202Accepted;
                break;
        }
    }
}

internal static class TimeSpanExtensions
{
    public static CancellationToken ToCancellationToken(this TimeSpan timeout) => new CancellationTokenSource(timeout).Token;
}
