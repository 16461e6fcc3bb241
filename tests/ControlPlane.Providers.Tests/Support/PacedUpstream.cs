using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Providers.Tests.Support;

/// <summary>A small OpenAI-shaped streaming upstream on loopback (real Kestrel, real sockets) whose pacing a test
/// chooses: <see cref="Chunks"/> content chunks, <see cref="Interval"/> apart, then <c>data: [DONE]</c>; with
/// <see cref="StallAfterFirst"/> it writes one chunk and then sends nothing until the client goes away.</summary>
internal sealed class PacedUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private PacedUpstream(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    /// <summary>The upstream's base address (ends with a slash).</summary>
    public Uri BaseUri { get; }

    /// <summary>How many content chunks a stream has.</summary>
    public int Chunks { get; set; } = 10;

    /// <summary>The pause between two chunks.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Whether a stream stalls after its first chunk.</summary>
    public bool StallAfterFirst { get; set; }

    /// <summary>An endpoint that calls this upstream in the OpenAI shape.</summary>
    public UpstreamEndpoint Endpoint(string id = "paced") => new(id, BaseUri, UpstreamApi.OpenAi, "openai", "gpt-paced", "gpt-paced-1");

    /// <summary>Starts the upstream on a free loopback port.</summary>
    public static async Task<PacedUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        PacedUpstream? self = null;
        app.MapPost("/v1/chat/completions", async context => await self!.StreamAsync(context));
        await app.StartAsync();
        var address = app.Urls.First();
        self = new PacedUpstream(app, new Uri(address.TrimEnd('/') + "/"));
        return self;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task StreamAsync(HttpContext context)
    {
        var aborted = context.RequestAborted;
        context.Response.ContentType = "text/event-stream";
        for (var i = 0; i < Chunks; i++)
        {
            if (i > 0)
            {
                await Task.Delay(StallAfterFirst ? Timeout.InfiniteTimeSpan : Interval, aborted);
            }

            var chunk = $$"""{"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-paced-1","choices":[{"index":0,"delta":{"content":"t{{i}} "},"finish_reason":null}]}""";
            await context.Response.WriteAsync("data: " + chunk + "\n\n", Encoding.UTF8, aborted);
            await context.Response.Body.FlushAsync(aborted);
        }

        await context.Response.WriteAsync("data: [DONE]\n\n", Encoding.UTF8, aborted);
    }
}
