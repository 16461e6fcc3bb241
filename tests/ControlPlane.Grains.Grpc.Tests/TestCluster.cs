using System.Collections.Concurrent;
using System.Net;
using ControlPlane.Grains.Placement;
using ControlPlane.Grains.Storage;
using ControlPlane.Grpc.Server;
using ControlPlane.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Grpc.Tests;

/// <summary>Deterministic placement shared by the in-process silos of a test: a grain key "silo-id:rest" lives on that
/// silo; everything else lives on the first silo. Silos that left hand their grains to the first remaining one.</summary>
internal sealed class TestPlacement(params string[] siloIds)
{
    private readonly ConcurrentDictionary<string, bool> _left = new(StringComparer.Ordinal);

    public IReadOnlyList<string> SiloIds { get; } = siloIds;

    public void Leave(string siloId) => _left[siloId] = true;

    public string OwnerOf(GrainId grainId)
    {
        // Observer keys start with the id of the silo that holds them.
        var separator = grainId.IsObserver ? '/' : ':';
        var cut = grainId.Key.IndexOf(separator, StringComparison.Ordinal);
        var named = cut > 0 ? grainId.Key[..cut] : null;
        if (named is not null && SiloIds.Contains(named) && (grainId.IsObserver || !_left.ContainsKey(named)))
        {
            return named;
        }

        return SiloIds.First(s => !_left.ContainsKey(s));
    }
}

/// <summary>One silo's view of <see cref="TestPlacement"/>, with claims and epochs, plus stale entries a test plants to
/// model a cache that is wrong once (then corrected, as a real directory corrects its cache after a rejection).</summary>
internal sealed class TestDirectory(string localSiloId, TestPlacement placement) : IGrainDirectory
{
    private readonly ConcurrentDictionary<GrainId, string> _stale = new();
    private long _epoch;

    public void PlantStale(GrainId grainId, string siloId) => _stale[grainId] = siloId;

    public ValueTask<GrainLocation> LocateAsync(GrainId grainId, CancellationToken cancellationToken = default)
    {
        var owner = _stale.TryRemove(grainId, out var stale) ? stale : placement.OwnerOf(grainId);
        return ValueTask.FromResult(new GrainLocation(owner, string.Equals(owner, localSiloId, StringComparison.Ordinal)));
    }

    public ValueTask<GrainClaim> ClaimAsync(GrainId grainId, CancellationToken cancellationToken = default)
    {
        var owner = placement.OwnerOf(grainId);
        return ValueTask.FromResult(string.Equals(owner, localSiloId, StringComparison.Ordinal)
            ? new GrainClaim(Granted: true, Interlocked.Increment(ref _epoch))
            : new GrainClaim(Granted: false, 0, new GrainLocation(owner, IsLocal: false)));
    }

    public ValueTask ReleaseAsync(GrainId grainId, GrainClaim claim, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
}

/// <summary>Silo addresses from a dictionary the test fills as nodes start.</summary>
internal sealed class TestSiloAddresses : ISiloAddressResolver
{
    private readonly ConcurrentDictionary<string, Uri> _addresses = new(StringComparer.Ordinal);

    public void Set(string siloId, Uri address) => _addresses[siloId] = address;

    public ValueTask<Uri?> ResolveAsync(string siloId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_addresses.TryGetValue(siloId, out var address) ? address : null);
}

/// <summary>A node: Kestrel h2c on a free loopback port with our gRPC server, and a silo using the gRPC transport.</summary>
internal sealed class TestNode : IAsyncDisposable
{
    private TestNode(string siloId, WebApplication app, TestDirectory directory, Uri address)
    {
        SiloId = siloId;
        App = app;
        Directory = directory;
        Address = address;
    }

    public string SiloId { get; }

    public WebApplication App { get; }

    public TestDirectory Directory { get; }

    public Uri Address { get; }

    public GrainSilo Silo => App.Services.GetRequiredService<GrainSilo>();

    public IGrainFactory Grains => Silo.GrainFactory;

    public static async Task<TestNode> StartAsync(
        string siloId, TestPlacement placement, TestSiloAddresses addresses, IGrainStorage storage,
        Action<GrainRuntimeOptions>? runtime = null, Action<GrpcGrainTransportOptions>? transport = null)
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Services.AddGrpcServer();
        var directory = new TestDirectory(siloId, placement);
        builder.Services.AddGrainSilo(silo => silo
            .Configure(o =>
            {
                o.SiloId = siloId;
                runtime?.Invoke(o);
            })
            .UseStorage(storage)
            .UseDirectory(_ => directory)
            .UseGrpcTransport(_ => addresses, transport)
            .AddGrain<ICounterGrain, CounterGrain>()
            .AddGrain<IRelayGrain, RelayGrain>()
            .AddObserverInterface<ICounterObserver>());
        var app = builder.Build();
        app.UseGrpcServices();
        await app.StartAsync();
        var address = new Uri($"http://127.0.0.1:{port}");
        addresses.Set(siloId, address);
        return new TestNode(siloId, app, directory, address);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
