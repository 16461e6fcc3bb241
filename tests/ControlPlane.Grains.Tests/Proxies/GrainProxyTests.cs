using Microsoft.Extensions.DependencyInjection;
using ControlPlane.Grains.Tests.TestGrains;

namespace ControlPlane.Grains.Tests.Proxies;

public sealed class GrainProxyTests
{
    [Fact]
    public async Task References_are_equal_by_grain_id_and_expose_it()
    {
        await using var host = await TestHost.StartAsync();
        var a1 = host.Grains.GetGrain<ICounterGrain>("a");
        var a2 = host.Grains.GetGrain<ICounterGrain>("a");
        var b = host.Grains.GetGrain<ICounterGrain>("b");

        Assert.Equal(a1, a2);
        Assert.Equal(a1.GetHashCode(), a2.GetHashCode());
        Assert.NotEqual(a1, b);
        var reference = Assert.IsAssignableFrom<IGrainReference>(a1);
        Assert.Equal(new GrainId("counter", "a"), reference.GrainId);
        Assert.Equal(typeof(ICounterGrain), reference.InterfaceType);
    }

    [Fact]
    public async Task ValueTask_methods_work_with_and_without_results()
    {
        await using var host = await TestHost.StartAsync();
        var counter = host.Grains.GetGrain<ICounterGrain>("v");
        await counter.IncrementAsync();

        Assert.Equal(1, await counter.GetAsValueTaskAsync());
        await counter.SaveAsync();
        Assert.NotNull((await host.Storage.ReadAsync(new GrainId("counter", "v")))?.Data);
    }

    [Fact]
    public async Task Unregistered_interfaces_are_refused_when_the_reference_is_made()
    {
        await using var host = await TestHost.StartAsync();

        var error = Assert.Throws<GrainTypeNotRegisteredException>(() => host.Grains.GetGrain<IUnregisteredGrain>("x"));
        Assert.Contains(nameof(IUnregisteredGrain), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Methods_are_described_by_a_stable_wire_id()
    {
        await using var host = await TestHost.StartAsync();

        var method = host.Silo.CallDispatcher.FindMethod("ControlPlane.Grains.Tests.TestGrains.ICounterGrain::FailAsync(System.String)");
        Assert.NotNull(method);
        Assert.Equal(typeof(ICounterGrain), method.InterfaceType);
        Assert.Null(method.ResultType);
        Assert.Equal(new[] { typeof(string) }, method.ParameterTypes.ToArray());
        Assert.True(host.Silo.CallDispatcher.FindMethod("ControlPlane.Grains.Tests.TestGrains.ICounterGrain::GetAsync()")!.IsReadOnly);
    }

    [Fact]
    public async Task The_dispatcher_runs_transport_messages_on_local_activations()
    {
        await using var host = await TestHost.StartAsync();
        var increment = host.Silo.CallDispatcher.FindMethod("ControlPlane.Grains.Tests.TestGrains.ICounterGrain::IncrementAsync()")!;

        var result = await host.Silo.CallDispatcher.DispatchAsync(new ControlPlane.Grains.Transport.GrainCallMessage(new GrainId("counter", "remote"), increment, [], Chain: null));

        Assert.Equal(1, result);
        Assert.Equal(1, await host.Grains.GetGrain<ICounterGrain>("remote").GetAsync());
    }

    [Fact]
    public async Task A_silo_not_yet_started_refuses_remote_calls_with_a_retriable_starting_error()
    {
        var builder = new GrainSiloBuilder().AddGrain<ICounterGrain, CounterGrain>().UseMemoryStorage();
        builder.Services.AddSingleton(new LifecycleProbe());
        await using var silo = builder.Build();
        var increment = silo.CallDispatcher.FindMethod("ControlPlane.Grains.Tests.TestGrains.ICounterGrain::IncrementAsync()")!;
        var target = new GrainId("counter", "early");

        var remote = await Assert.ThrowsAsync<GrainSiloStartingException>(() =>
            silo.CallDispatcher.DispatchAsync(new ControlPlane.Grains.Transport.GrainCallMessage(target, increment, [], Chain: null) { FromRemoteSilo = true }));
        Assert.Equal(target, remote.GrainId);
        // A local caller that forgot StartAsync gets a programming error instead.
        await Assert.ThrowsAsync<InvalidOperationException>(() => silo.GrainFactory.GetGrain<ICounterGrain>("early").IncrementAsync());

        await silo.StartAsync();
        Assert.Equal(1, await silo.CallDispatcher.DispatchAsync(new ControlPlane.Grains.Transport.GrainCallMessage(target, increment, [], Chain: null) { FromRemoteSilo = true }));
    }

    [Fact]
    public void Grain_interfaces_with_unsupported_methods_are_refused_at_registration()
    {
        var error = Assert.Throws<ArgumentException>(() => new GrainSiloBuilder().AddGrain<ISyncGrain, SyncGrain>());
        Assert.Contains("returns Int32", error.Message, StringComparison.Ordinal);
    }

    public interface IUnregisteredGrain : IGrainWithStringKey
    {
        Task PingAsync();
    }

    public interface ISyncGrain : IGrainWithStringKey
    {
        int Get();
    }

    public sealed class SyncGrain : Grain, ISyncGrain
    {
        public int Get() => 0;
    }
}
