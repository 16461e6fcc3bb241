using System.Net;
using ControlPlane.Client;
using ControlPlane.Providers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Proxy;

/// <summary>A running proxy: Kestrel (HTTP/1.1) on <see cref="ProxyOptions.Listen"/> serving <c>POST /v1/chat/completions</c> (and
/// <c>GET /healthz</c>), one control-plane client, one batching outcome reporter and one pooled upstream client.</summary>
public sealed class ProxyHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ControlPlaneClient _client;
    private readonly ProviderClient _provider;
    private bool _disposed;

    private ProxyHost(WebApplication app, ControlPlaneClient client, OutcomeReporter reporter, ProviderClient provider)
    {
        _app = app;
        _client = client;
        Reporter = reporter;
        _provider = provider;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUri = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
    }

    /// <summary>Where the proxy listens, e.g. <c>http://127.0.0.1:8080/</c> (the real port when 0 was asked).</summary>
    public Uri BaseUri { get; }

    /// <summary>The outcome reporter (its counters: sent, rejected, failed, dropped).</summary>
    internal OutcomeReporter Reporter { get; }

    /// <summary>Starts a proxy with <paramref name="options"/> (validated first).</summary>
    /// <exception cref="ArgumentException">A bad option (named).</exception>
    public static async Task<ProxyHost> StartAsync(ProxyOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var client = new ControlPlaneClient(options.ControlPlane!, new ControlPlaneClientOptions
        {
            ApiKey = options.Credential,
            RouteTimeout = options.RouteTimeout,
        });
        var reporter = new OutcomeReporter(client, new OutcomeReporterOptions { FlushInterval = options.ReportFlushInterval }, options.Time);
        var executorOptions = new RoutedExecutorOptions
        {
            MaxAttempts = options.Executor.MaxAttempts,
            BaseBackoff = options.Executor.BaseBackoff,
            MaxBackoff = options.Executor.MaxBackoff,
            MaxRetryAfter = options.Executor.MaxRetryAfter,
            MaxQueueHoldWait = options.Executor.MaxQueueHoldWait,
            WaitOnQueueHold = true,
        };
        var executor = new RoutedExecutor(client, reporter, options.Time, executorOptions);
        var provider = new ProviderClient(options.Provider, options.Time);
        var handler = new ChatCompletionsHandler(options, executor, provider);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        if (options.ConsoleLogging)
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            kestrel.Listen(options.Listen, listen => listen.Protocols = HttpProtocols.Http1);
        });
        var app = builder.Build();
        app.MapPost("/v1/chat/completions", handler.HandleAsync);
        app.MapGet("/healthz", static context => context.Response.WriteAsync("ok", context.RequestAborted));
        app.MapFallback(static context => OpenAiErrors.WriteAsync(context.Response, 404, "invalid_request_error", "unknown_url",
            "This proxy serves POST /v1/chat/completions.", context.RequestAborted));
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            await reporter.DisposeAsync().ConfigureAwait(false);
            client.Dispose();
            provider.Dispose();
            throw;
        }

        return new ProxyHost(app, client, reporter, provider);
    }

    /// <summary>Stops listening, sends the outcomes still queued, and closes the connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await Reporter.DisposeAsync().ConfigureAwait(false);
        _client.Dispose();
        _provider.Dispose();
    }

    /// <summary>Parses <c>127.0.0.1:8080</c> or <c>[::1]:8080</c>.</summary>
    internal static bool TryParseListen(string value, out IPEndPoint endpoint) =>
        IPEndPoint.TryParse(value, out endpoint!) && endpoint.Port is >= 0 and <= 65535 && value.Contains(':', StringComparison.Ordinal);
}
