using ControlPlane.Grains.Storage;

namespace ControlPlane.Grains.Grpc.Tests;

/// <summary>Three in-process silos on real Kestrel sockets, plus "gone": a member whose port refuses connections.</summary>
public sealed class ThreeSiloFixture : IAsyncLifetime
{
    internal TestPlacement Placement { get; } = new("a", "b", "c", "gone");

    internal TestSiloAddresses Addresses { get; } = new();

    internal MemoryGrainStorage Storage { get; } = new();

    internal TestNode A { get; private set; } = null!;

    internal TestNode B { get; private set; } = null!;

    internal TestNode C { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Addresses.Set("gone", new Uri($"http://127.0.0.1:{ControlPlane.Testing.FreePort.Next()}"));
        A = await TestNode.StartAsync("a", Placement, Addresses, Storage);
        B = await TestNode.StartAsync("b", Placement, Addresses, Storage);
        C = await TestNode.StartAsync("c", Placement, Addresses, Storage);
    }

    public async Task DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
        await C.DisposeAsync();
    }
}

public sealed class GrpcGrainCallTransportTests(ThreeSiloFixture cluster) : IClassFixture<ThreeSiloFixture>
{
    [Fact]
    public async Task Call_runs_on_the_owner_silo_only()
    {
        var before = (cluster.A.Silo.ActivationCount, cluster.B.Silo.ActivationCount);
        var counter = cluster.A.Grains.GetGrain<ICounterGrain>("b:owner-only");

        Assert.Equal(2, await counter.Increment(2));
        Assert.Equal(5, await counter.Increment(3));
        Assert.Equal(5, await cluster.C.Grains.GetGrain<ICounterGrain>("b:owner-only").Get());

        Assert.Equal(before.Item1, cluster.A.Silo.ActivationCount);
        Assert.Equal(before.Item2 + 1, cluster.B.Silo.ActivationCount);
    }

    [Fact]
    public async Task Arguments_results_and_void_methods_round_trip()
    {
        var counter = cluster.A.Grains.GetGrain<ICounterGrain>("c:round-trip");
        await counter.Increment(7);

        var report = await counter.Report(["x", "ü€"], note: null);
        Assert.Equal("c:round-trip", report.Key);
        Assert.Equal(7, report.Value);
        Assert.Equal(["x", "ü€"], report.Tags);
        Assert.Equal("c:round-trip!", (await counter.Report([], "!")).Key);

        await counter.Reset();
        Assert.Equal(0, await counter.Get());
    }

    [Fact]
    public async Task Remote_exception_surfaces_as_type_and_message_without_stack()
    {
        var counter = cluster.A.Grains.GetGrain<ICounterGrain>("b:failing");

        var error = await Assert.ThrowsAsync<RemoteGrainException>(() => counter.Fail("boom"));

        Assert.Equal("System.InvalidOperationException", error.RemoteType);
        Assert.Equal("boom", error.RemoteMessage);
        Assert.Equal("b", error.SiloId);
        Assert.Equal(new GrainId("counter", "b:failing").Key, error.GrainId?.Key);
        Assert.DoesNotContain(" at ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Observer_is_called_back_on_the_silo_that_holds_it()
    {
        var seen = new TaskCompletionSource<(string, long)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var observer = cluster.A.Grains.CreateObserverReference<ICounterObserver>(new Observer(seen));
        await cluster.A.Grains.GetGrain<ICounterGrain>("b:observed").Subscribe(observer);

        await cluster.C.Grains.GetGrain<ICounterGrain>("b:observed").Increment(4);

        Assert.Equal(("b:observed", 4L), await seen.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task References_and_call_chains_cross_silos()
    {
        var relayOnA = cluster.C.Grains.GetGrain<IRelayGrain>("a:relay");
        var relayOnB = cluster.C.Grains.GetGrain<IRelayGrain>("b:relay");

        // a -> b -> a -> b: each call back into a busy activation is reentrant only if the chain travelled.
        Assert.Equal("a:relay>b:relay>a:relay>b:relay", await relayOnA.PingPong(relayOnB, 3));
        Assert.Equal(9, await relayOnA.IncrementThrough(cluster.B.Grains.GetGrain<ICounterGrain>("c:through"), 9));
        Assert.Equal(9, await cluster.C.Grains.GetGrain<ICounterGrain>("c:through").Get());
    }

    [Fact]
    public async Task Rejected_call_is_redirected_to_the_named_owner()
    {
        var id = new GrainId("counter", "c:redirected");
        var onB = cluster.B.Silo.ActivationCount;
        cluster.A.Directory.PlantStale(id, "b");

        Assert.Equal(1, await cluster.A.Grains.GetGrain<ICounterGrain>(id.Key).Increment(1));

        // b refused before running (naming c); c ran it once.
        Assert.Equal(onB, cluster.B.Silo.ActivationCount);
        Assert.Equal(1, await cluster.C.Grains.GetGrain<ICounterGrain>(id.Key).Get());
    }

    [Fact]
    public async Task Refused_connection_is_retried_on_the_relocated_owner()
    {
        var id = new GrainId("counter", "b:after-refusal");
        cluster.A.Directory.PlantStale(id, "gone");

        Assert.Equal(3, await cluster.A.Grains.GetGrain<ICounterGrain>(id.Key).Increment(3));
        Assert.Equal(3, await cluster.B.Grains.GetGrain<ICounterGrain>(id.Key).Get());
    }

    [Fact]
    public async Task Gives_up_with_a_clear_error_after_the_redirect_budget()
    {
        var error = await Assert.ThrowsAsync<GrainException>(() => cluster.A.Grains.GetGrain<ICounterGrain>("gone:x").Increment(1));

        Assert.Contains("rejected before execution 4 times", error.Message, StringComparison.Ordinal);
        Assert.Contains("giving up after 3 redirects", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_local_object_where_a_reference_belongs_fails_before_sending()
    {
        var counter = cluster.A.Grains.GetGrain<ICounterGrain>("b:raw-observer");

        var error = await Assert.ThrowsAnyAsync<Exception>(() => counter.Subscribe(new Observer(new())));

        Assert.Contains("Only grain references cross silos", error.Message, StringComparison.Ordinal);
    }

    private sealed class Observer(TaskCompletionSource<(string, long)> seen) : ICounterObserver
    {
        public Task Changed(string key, long value)
        {
            seen.TrySetResult((key, value));
            return Task.CompletedTask;
        }
    }
}
