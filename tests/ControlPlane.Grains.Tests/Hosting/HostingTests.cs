using ControlPlane.Grains.Tests.TestGrains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grains.Tests.Hosting;

public sealed class HostingTests
{
    [Fact]
    public void Options_have_the_documented_defaults()
    {
        var options = new GrainRuntimeOptions();

        Assert.Equal(TimeSpan.FromMinutes(15), options.IdleDeactivationAge);
        Assert.Equal(TimeSpan.FromMinutes(1), options.CollectionInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), options.CallTimeout);
        Assert.Equal(TimeSpan.FromMinutes(1), options.ShutdownTimeout);
        Assert.Equal("local", options.SiloId);
    }

    [Theory]
    [InlineData("IdleDeactivationAge")]
    [InlineData("CollectionInterval")]
    [InlineData("CallTimeout")]
    [InlineData("SiloId")]
    public void Out_of_range_options_fail_the_build_naming_the_option(string option)
    {
        var builder = new GrainSiloBuilder().UseMemoryStorage().Configure(o =>
        {
            switch (option)
            {
                case "IdleDeactivationAge":
                    o.IdleDeactivationAge = TimeSpan.Zero;
                    break;
                case "CollectionInterval":
                    o.CollectionInterval = TimeSpan.FromHours(1);
                    break;
                case "CallTimeout":
                    o.CallTimeout = TimeSpan.FromMilliseconds(1);
                    break;
                default:
                    o.SiloId = "a/b";
                    break;
            }
        });

        var error = Assert.Throws<OptionsValidationException>(() => builder.Build());
        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_silo_without_storage_fails_the_build_with_a_clear_error()
    {
        var error = Assert.ThrowsAny<Exception>(() => new GrainSiloBuilder().Build());
        Assert.Contains("No grain storage configured", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_grain_registrations_are_refused()
    {
        var builder = new GrainSiloBuilder();
        builder.AddGrain<ICounterGrain, CounterGrain>();

        Assert.Throws<ArgumentException>(() => builder.AddGrain<ICounterGrain, OtherCounterGrain>());
    }

    [Fact]
    public async Task A_generic_host_starts_and_gracefully_stops_the_silo()
    {
        var probe = new LifecycleProbe();
        using var host = new HostBuilder()
            .ConfigureServices(services => services
                .AddSingleton(probe)
                .AddGrainSilo(silo => silo.UseMemoryStorage().AddGrain<ICounterGrain, CounterGrain>()))
            .Build();

        await host.StartAsync();
        var counter = host.Services.GetRequiredService<IGrainFactory>().GetGrain<ICounterGrain>("hosted");
        Assert.Equal(1, await counter.IncrementAsync());
        await host.StopAsync();

        Assert.Equal([DeactivationReason.ShuttingDown], probe.Reasons);
        await Assert.ThrowsAsync<GrainSiloStoppingException>(() => counter.GetAsync());
    }

    private sealed class OtherCounterGrain : CounterGrainBase, ICounterGrain;

    private abstract class CounterGrainBase : Grain
    {
        public Task<int> IncrementAsync() => Task.FromResult(0);

        public Task<int> GetAsync() => Task.FromResult(0);

        public ValueTask<int> GetAsValueTaskAsync() => ValueTask.FromResult(0);

        public ValueTask SaveAsync() => ValueTask.CompletedTask;

        public Task ClearAsync() => Task.CompletedTask;

        public Task DeactivateSoonAsync() => Task.CompletedTask;

        public Task FailAsync(string message) => Task.CompletedTask;
    }
}
