namespace ControlPlane.Grains.Grpc.Tests;

public sealed record CounterReport(string Key, long Value, IReadOnlyList<string> Tags);

public interface ICounterObserver : IGrainObserver
{
    Task Changed(string key, long value);
}

public interface ICounterGrain : IGrainWithStringKey
{
    Task<long> Increment(long by);

    Task<long> Get();

    Task<CounterReport> Report(IReadOnlyList<string> tags, string? note);

    Task Reset();

    Task Fail(string message);

    Task Subscribe(ICounterObserver observer);

    Task Pause(TimeSpan howLong);
}

/// <summary>Calls other grains: for references as arguments and call chains that cross silos (A -> B -> A).</summary>
public interface IRelayGrain : IGrainWithStringKey
{
    Task<long> IncrementThrough(ICounterGrain counter, long by);

    Task<string> PingPong(IRelayGrain other, int depth);
}

public sealed class CounterState
{
    public long Value { get; set; }
}

[GrainType("counter")]
public sealed class CounterGrain : Grain<CounterState>, ICounterGrain
{
    private readonly List<ICounterObserver> _observers = [];

    public async Task<long> Increment(long by)
    {
        State.Value += by;
        await WriteStateAsync();
        foreach (var observer in _observers)
        {
            await observer.Changed(GetPrimaryKeyString(), State.Value);
        }

        return State.Value;
    }

    public Task<long> Get() => Task.FromResult(State.Value);

    public Task<CounterReport> Report(IReadOnlyList<string> tags, string? note) =>
        Task.FromResult(new CounterReport(GetPrimaryKeyString() + (note ?? ""), State.Value, tags));

    public async Task Reset()
    {
        State.Value = 0;
        await WriteStateAsync();
    }

    public Task Fail(string message) => throw new InvalidOperationException(message);

    public Task Subscribe(ICounterObserver observer)
    {
        _observers.Add(observer);
        return Task.CompletedTask;
    }

    public Task Pause(TimeSpan howLong) => Task.Delay(howLong);
}

public sealed class RelayGrain : Grain, IRelayGrain
{
    public Task<long> IncrementThrough(ICounterGrain counter, long by) => counter.Increment(by);

    public async Task<string> PingPong(IRelayGrain other, int depth)
    {
        if (depth == 0)
        {
            return GetPrimaryKeyString();
        }

        // The call back into the caller's activation only works when the chain crossed both silos.
        var self = GrainFactory.GetGrain<IRelayGrain>(GetPrimaryKeyString());
        return GetPrimaryKeyString() + ">" + await other.PingPong(self, depth - 1);
    }
}
