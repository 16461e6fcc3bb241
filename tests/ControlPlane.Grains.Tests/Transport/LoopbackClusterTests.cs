using System.Threading.Channels;
using ControlPlane.Grains.Placement;
using ControlPlane.Grains.Storage;
using ControlPlane.Grains.Tests.TestGrains;
using ControlPlane.Grains.Transport;

namespace ControlPlane.Grains.Tests.Transport;

/// <summary>Two silos in one process joined through the cluster seams (a directory that places grains by key prefix,
/// a transport that hands messages to the other silo's dispatcher), to prove the seams carry what cluster mode
/// needs: remote calls, call chains across silos, observer delivery and claim forwarding.</summary>
public sealed class LoopbackClusterTests : IAsyncLifetime
{
    private readonly MemoryGrainStorage _storage = new();
    private readonly LoopbackTransport _transport = new();
    private TestHost _s1 = null!;
    private TestHost _s2 = null!;

    public async Task InitializeAsync()
    {
        _s1 = await StartSiloAsync("s1");
        _s2 = await StartSiloAsync("s2");
    }

    public async Task DisposeAsync()
    {
        await _s1.DisposeAsync();
        await _s2.DisposeAsync();
    }

    [Fact]
    public async Task A_grain_owned_by_another_silo_runs_there()
    {
        var counter = _s1.Grains.GetGrain<ICounterGrain>("s2:c");

        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(i, await counter.IncrementAsync());
        }

        Assert.Equal(0, _s1.Silo.ActivationCount);
        Assert.Equal(1, _s2.Probe.Activations("s2:c"));
        Assert.Equal(0, _s1.Probe.Activations("s2:c"));
        Assert.Equal(3, _transport.Sent);
    }

    [Fact]
    public async Task A_to_B_to_A_across_silos_keeps_its_call_chain()
    {
        Assert.Equal("via s2:b: echo s1:a", await _s1.Grains.GetGrain<IPingGrain>("s1:a").PingViaAsync("s2:b"));
    }

    [Fact]
    public async Task An_observer_on_one_silo_receives_pushes_from_a_grain_on_another()
    {
        var publisher = _s1.Grains.GetGrain<IPublisherGrain>("s2:pub");
        var received = Channel.CreateUnbounded<int>();
        var observer = _s1.Grains.CreateObserverReference<IVersionObserver>(new ChannelObserver(received.Writer));
        await publisher.SubscribeAsync(observer);

        Assert.Equal(new ControlPlane.Grains.Observers.NotificationResult(1, 0), await publisher.PublishAsync(5));

        Assert.Equal(5, await received.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_refused_claim_forwards_queued_calls_to_the_owner()
    {
        // s1's placement wrongly says "here"; the claim names s2, so the call moves there.
        var counter = _s1.Grains.GetGrain<ICounterGrain>("stale:s2:c");

        Assert.Equal(1, await counter.IncrementAsync());
        Assert.Equal(2, await counter.IncrementAsync());

        Assert.Equal(0, _s1.Probe.Activations("stale:s2:c"));
        Assert.Equal(1, _s2.Probe.Activations("stale:s2:c"));
    }

    private Task<TestHost> StartSiloAsync(string siloId) => TestHost.StartAsync(_storage, configure: b => b
        .Configure(o => o.SiloId = siloId)
        .AddObserverInterface<IVersionObserver>()
        .UseDirectory(_ => new PrefixDirectory(siloId))
        .UseCallTransport(_ => _transport))
        .ContinueWith(t => _transport.Join(siloId, t.Result), TaskScheduler.Default);

    /// <summary>Owner = the "sN:" prefix of the key (after an optional "stale:" that makes placement lie locally),
    /// or the silo named in an observer id.</summary>
    private sealed class PrefixDirectory(string self) : IGrainDirectory
    {
        public ValueTask<GrainLocation> LocateAsync(GrainId grainId, CancellationToken cancellationToken = default)
        {
            var owner = OwnerOf(grainId);
            var stale = grainId.Key.StartsWith("stale:", StringComparison.Ordinal);
            return ValueTask.FromResult(new GrainLocation(stale ? self : owner, stale || owner == self));
        }

        public ValueTask<GrainClaim> ClaimAsync(GrainId grainId, CancellationToken cancellationToken = default)
        {
            var owner = OwnerOf(grainId);
            return ValueTask.FromResult(owner == self
                ? new GrainClaim(Granted: true, Epoch: 1)
                : new GrainClaim(Granted: false, Epoch: 0, new GrainLocation(owner, IsLocal: false)));
        }

        public ValueTask ReleaseAsync(GrainId grainId, GrainClaim claim, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        private static string OwnerOf(GrainId id)
        {
            var key = id.Key.StartsWith("stale:", StringComparison.Ordinal) ? id.Key["stale:".Length..] : id.Key;
            return id.IsObserver ? key[..key.IndexOf('/', StringComparison.Ordinal)] : key[..key.IndexOf(':', StringComparison.Ordinal)];
        }
    }

    /// <summary>Delivers a message to the destination silo's dispatcher the way a wire transport would: the method is
    /// looked up by its wire id and reference arguments are rebound to the receiving silo.</summary>
    private sealed class LoopbackTransport : IGrainCallTransport
    {
        private readonly Dictionary<string, IGrainCallDispatcher> _silos = [];
        private int _sent;

        public int Sent => Volatile.Read(ref _sent);

        public TestHost Join(string siloId, TestHost host)
        {
            lock (_silos)
            {
                _silos[siloId] = host.Silo.CallDispatcher;
            }

            return host;
        }

        public async Task<object?> SendAsync(GrainLocation destination, GrainCallMessage message, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _sent);
            IGrainCallDispatcher dispatcher;
            lock (_silos)
            {
                dispatcher = _silos[destination.SiloId];
            }

            var method = dispatcher.FindMethod(message.Method.Id) ?? throw new InvalidOperationException($"Unknown method {message.Method.Id}");
            var arguments = message.Arguments
                .Select(a => a is IGrainReference reference ? dispatcher.GetReference(reference.GrainId, reference.InterfaceType) : a)
                .ToArray();
            await Task.Yield();
            return await dispatcher.DispatchAsync(message with { Method = method, Arguments = arguments });
        }
    }

    private sealed class ChannelObserver(ChannelWriter<int> writer) : IVersionObserver
    {
        public Task OnVersionAsync(string publisher, int version) => writer.WriteAsync(version).AsTask();
    }
}
