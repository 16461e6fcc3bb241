using System.Net;
using ControlPlane.Fleet;
using ControlPlane.Simulator.Faults;
using ControlPlane.Simulator.Generation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ControlPlane.Simulator.Endpoints;

/// <summary>
/// One fleet endpoint on its own port: a Kestrel listener that answers in the endpoint's API shape and plays the
/// faults active on it. A <c>refused</c> outage stops the listener (the port really refuses connections) and the
/// endpoint rebinds the same port when the outage ends.
/// </summary>
internal sealed partial class SimulatedEndpoint : IAsyncDisposable
{
    private readonly IPAddress _address;
    private readonly SimulatorOptions _options;
    private readonly FaultBook _faults;
    private readonly Random _random;
    private readonly Lock _randomGate = new();
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private WebApplication? _app;
    private long _nextId;

    public SimulatedEndpoint(EndpointCatalogEntry entry, IPAddress address, int port, int seed, SimulatorOptions options, FaultBook faults, LatencyModel latency)
    {
        Entry = entry;
        _address = address;
        Port = port;
        _options = options;
        _faults = faults;
        Latency = latency;
        _random = RequestDraw.CreateRandom(seed, entry.Id);
        Api = string.Equals(entry.Descriptor.Provider, "anthropic", StringComparison.OrdinalIgnoreCase) ? "anthropic" : "openai";
    }

    /// <summary>The fleet's entry for the endpoint.</summary>
    public EndpointCatalogEntry Entry { get; }

    /// <summary>The endpoint id.</summary>
    public string Id => Entry.Id;

    /// <summary><c>anthropic</c> for provider anthropic, else <c>openai</c>.</summary>
    public string Api { get; }

    /// <summary>The endpoint's port (kept across refused outages; 0 until the first bind picks one when none was given).</summary>
    public int Port { get; private set; }

    /// <summary>The endpoint's base URL.</summary>
    /// <remarks>Listening on every address (0.0.0.0, ::) the URL names loopback, which reaches it from this machine.</remarks>
    public Uri Url
    {
        get
        {
            var address = _address.Equals(IPAddress.Any) ? IPAddress.Loopback : _address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : _address;
            string host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[" + address + "]" : address.ToString();
            return new Uri($"http://{host}:{Port}");
        }
    }

    /// <summary>The endpoint's latency parameters.</summary>
    public LatencyModel Latency { get; }

    /// <summary>The endpoint's counters.</summary>
    public EndpointStats Stats { get; } = new();

    /// <summary>Tokens served this minute (the rate-limit fault's <c>tpm</c> mode).</summary>
    public TokenMinute Minute { get; } = new();

    /// <summary>True while the port listens.</summary>
    public bool IsListening => Volatile.Read(ref _app) is not null;

    /// <summary>Starts or stops the listener so it listens exactly when <paramref name="listen"/>.</summary>
    public async Task SetListeningAsync(bool listen, CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (listen && _app is null)
            {
                _app = await StartAppAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (!listen && _app is { } app)
            {
                Volatile.Write(ref _app, null);
                Stats.RecordRefusal();
                await StopAppAsync(app).ConfigureAwait(false);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_app is { } app)
            {
                _app = null;
                await StopAppAsync(app).ConfigureAwait(false);
            }
        }
        finally
        {
            _lifecycle.Release();
        }

        _lifecycle.Dispose();
    }

    private static async Task StopAppAsync(WebApplication app)
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await app.StopAsync(grace.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Connections still open after the grace period are aborted by the server's disposal.
        }

        await app.DisposeAsync().ConfigureAwait(false);
    }

    private async Task<WebApplication> StartAppAsync(CancellationToken cancellationToken)
    {
        // A port chosen here may be taken by the time Kestrel binds it: choose again. A port that is the endpoint's
        // already (given, or kept across a refused outage) may linger for a moment after closing: retry it briefly.
        bool chosen = Port == 0;
        for (int attempt = 0; ; attempt++)
        {
            if (chosen && (Port == 0 || attempt > 0))
            {
                Port = PortPicker.Next(_address);
            }

            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
            builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
            {
                kestrel.AddServerHeader = false;
                kestrel.Limits.MaxRequestBodySize = _options.MaxRequestBodyBytes;
                kestrel.Listen(_address, Port);
            });
            builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(1));
            var app = builder.Build();
            app.Run(HandleAsync);
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
                return app;
            }
            catch (IOException) when (attempt < 50 && !cancellationToken.IsCancellationRequested)
            {
                await app.DisposeAsync().ConfigureAwait(false);
                if (!chosen)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    private RequestDraw NextDraw()
    {
        lock (_randomGate)
        {
            return RequestDraw.Next(_random);
        }
    }

    private string NextId(string prefix) => prefix + Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
