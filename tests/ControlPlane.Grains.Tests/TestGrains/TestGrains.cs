using ControlPlane.Grains.Observers;
using System.Collections.Concurrent;

namespace ControlPlane.Grains.Tests.TestGrains;

/// <summary>Counts lifecycle events per grain key and lets tests wait for them.</summary>
public sealed class LifecycleProbe
{
    private readonly ConcurrentDictionary<string, int> _activations = new();
    private readonly ConcurrentDictionary<string, int> _deactivations = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _deactivated = new();

    public int Activations(string key) => _activations.GetValueOrDefault(key);

    public int Deactivations(string key) => _deactivations.GetValueOrDefault(key);

    public List<DeactivationReason> Reasons { get; } = [];

    public void OnActivated(string key) => _activations.AddOrUpdate(key, 1, (_, n) => n + 1);

    public void OnDeactivated(string key, DeactivationReason reason)
    {
        lock (Reasons)
        {
            Reasons.Add(reason);
        }

        _deactivations.AddOrUpdate(key, 1, (_, n) => n + 1);
        Deactivated(key).TrySetResult();
    }

    public TaskCompletionSource Deactivated(string key) =>
        _deactivated.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}

public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> IncrementAsync();

    [ReadOnly]
    Task<int> GetAsync();

    ValueTask<int> GetAsValueTaskAsync();

    ValueTask SaveAsync();

    Task ClearAsync();

    Task DeactivateSoonAsync();

    Task FailAsync(string message);
}

public sealed class CounterState
{
    public int Value { get; set; }
}

[GrainType("counter")]
public sealed class CounterGrain(LifecycleProbe probe) : Grain<CounterState>, ICounterGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        probe.OnActivated(GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await WriteStateAsync(cancellationToken);
        probe.OnDeactivated(GetPrimaryKeyString(), reason);
    }

    public async Task<int> IncrementAsync()
    {
        // Read, yield, write: overlapping turns would lose increments.
        var value = State.Value;
        await Task.Yield();
        State.Value = value + 1;
        return State.Value;
    }

    public Task<int> GetAsync() => Task.FromResult(State.Value);

    public ValueTask<int> GetAsValueTaskAsync() => ValueTask.FromResult(State.Value);

    public async ValueTask SaveAsync() => await WriteStateAsync();

    public Task ClearAsync() => ClearStateAsync();

    public Task DeactivateSoonAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public Task FailAsync(string message) => throw new InvalidOperationException(message);
}

/// <summary>A manual gate the test opens; grains wait on it to hold a turn open.</summary>
public sealed class TestGate
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Entered => _entered.Task;

    public Task WaitAsync()
    {
        _entered.TrySetResult();
        return _open.Task;
    }

    public void Open() => _open.TrySetResult();
}

public interface ITurnGrain : IGrainWithStringKey
{
    Task ExclusiveAsync();

    [ReadOnly]
    Task ReadAsync();

    /// <summary>Completes only when two calls are inside it at once.</summary>
    [ReadOnly]
    Task<int> ReadOnlyRendezvousAsync();

    /// <summary>Same, but exclusive: can never complete twice at once.</summary>
    Task<int> ExclusiveRendezvousAsync();

    [AlwaysInterleave]
    Task<int> PeekMaxOverlapAsync();

    Task HoldAsync();

    Task<bool> IsOnActivationSchedulerAsync();
}

[GrainType("turns")]
public sealed class TurnGrain(TestGate gate) : Grain, ITurnGrain
{
    private readonly TaskCompletionSource<int> _rendezvous = new();
    private int _exclusiveInside;
    private int _readInside;
    private int _maxExclusiveOverlap;
    private int _readSawExclusive;
    private int _arrived;

    public async Task ExclusiveAsync()
    {
        _exclusiveInside++;
        _maxExclusiveOverlap = Math.Max(_maxExclusiveOverlap, _exclusiveInside + _readInside);
        await Task.Yield();
        await Task.Yield();
        _exclusiveInside--;
    }

    public async Task ReadAsync()
    {
        _readInside++;
        _readSawExclusive += _exclusiveInside;
        await Task.Yield();
        _readInside--;
    }

    public async Task<int> ReadOnlyRendezvousAsync() => await Rendezvous();

    public async Task<int> ExclusiveRendezvousAsync() => await Rendezvous();

    public Task<int> PeekMaxOverlapAsync() => Task.FromResult(_maxExclusiveOverlap * 1000 + _readSawExclusive);

    public Task HoldAsync() => gate.WaitAsync();

    public async Task<bool> IsOnActivationSchedulerAsync()
    {
        var before = TaskScheduler.Current;
        await Task.Delay(1);
        return before != TaskScheduler.Default && TaskScheduler.Current == before;
    }

    private async Task<int> Rendezvous()
    {
        if (++_arrived == 2)
        {
            _rendezvous.TrySetResult(2);
        }

        // The test gate lets a test (or its teardown) release a turn that can never meet its partner.
        await Task.WhenAny(_rendezvous.Task, gate.WaitAsync());
        return _rendezvous.Task.IsCompleted ? _rendezvous.Task.Result : 1;
    }
}

public interface IPingGrain : IGrainWithStringKey
{
    /// <summary>Calls <paramref name="other"/>, which calls back into this grain (A->B->A).</summary>
    Task<string> PingViaAsync(string other);

    Task<string> CallBackAsync(string caller);

    Task<string> EchoAsync();

    /// <summary>Calls itself through a reference.</summary>
    Task<string> SelfCallAsync();

    /// <summary>Fans out two calls to <paramref name="other"/> in one chain: they must still not interleave there.</summary>
    Task<int> FanOutAsync(string other);

    Task<int> SlowTurnAsync();
}

[GrainType("ping")]
public sealed class PingGrain : Grain, IPingGrain
{
    private int _inside;
    private int _maxInside;

    public Task<string> PingViaAsync(string other) => GrainFactory.GetGrain<IPingGrain>(other).CallBackAsync(GetPrimaryKeyString());

    public async Task<string> CallBackAsync(string caller) => "via " + GetPrimaryKeyString() + ": " + await GrainFactory.GetGrain<IPingGrain>(caller).EchoAsync();

    public Task<string> EchoAsync() => Task.FromResult("echo " + GetPrimaryKeyString());

    public Task<string> SelfCallAsync() => GrainFactory.GetGrain<IPingGrain>(GetPrimaryKeyString()).EchoAsync();

    public async Task<int> FanOutAsync(string other)
    {
        var target = GrainFactory.GetGrain<IPingGrain>(other);
        var results = await Task.WhenAll(target.SlowTurnAsync(), target.SlowTurnAsync(), target.SlowTurnAsync());
        return results.Max();
    }

    public async Task<int> SlowTurnAsync()
    {
        _inside++;
        _maxInside = Math.Max(_maxInside, _inside);
        await Task.Delay(2);
        _inside--;
        return _maxInside;
    }
}

/// <summary>Ticks a timer and records whether a tick ever overlapped a held turn.</summary>
public sealed class TimerProbe
{
    private readonly SemaphoreSlim _ticks = new(0);

    public int Count { get; private set; }

    public bool OverlappedTurn { get; set; }

    public void Tick()
    {
        Count++;
        _ticks.Release();
    }

    public Task WaitTickAsync() => _ticks.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(t => Assert.True(t.Result, "timer tick did not arrive"), TaskScheduler.Default);
}

public interface ITimerGrain : IGrainWithStringKey
{
    Task StartTimerAsync(TimeSpan period);

    Task StopTimerAsync();

    Task HoldAsync();
}

[GrainType("timers")]
public sealed class TimerGrain(TimerProbe probe, TestGate gate) : Grain, ITimerGrain
{
    private IDisposable? _timer;
    private bool _holding;

    public Task StartTimerAsync(TimeSpan period)
    {
        _timer = RegisterTimer(_ =>
        {
            probe.OverlappedTurn |= _holding;
            probe.Tick();
            return Task.CompletedTask;
        }, period, period);
        return Task.CompletedTask;
    }

    public Task StopTimerAsync()
    {
        _timer?.Dispose();
        return Task.CompletedTask;
    }

    public async Task HoldAsync()
    {
        _holding = true;
        await gate.WaitAsync();
        _holding = false;
    }
}

public interface IVersionObserver : IGrainObserver
{
    Task OnVersionAsync(string publisher, int version);
}

public interface IPublisherGrain : IGrainWithStringKey
{
    Task SubscribeAsync(IVersionObserver observer);

    Task UnsubscribeAsync(IVersionObserver observer);

    Task<NotificationResult> PublishAsync(int version);

    Task<int> GetVersionAsync();

    Task<int> SubscriberCountAsync();
}

[GrainType("publisher")]
public sealed class PublisherGrain : Grain, IPublisherGrain
{
    private ObserverSubscriptions<IVersionObserver> _subscribers = null!;
    private int _version;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _subscribers = new ObserverSubscriptions<IVersionObserver>(TimeSpan.FromMinutes(1), TimeProvider);
        return Task.CompletedTask;
    }

    public Task SubscribeAsync(IVersionObserver observer)
    {
        _subscribers.Subscribe(observer);
        return Task.CompletedTask;
    }

    public Task UnsubscribeAsync(IVersionObserver observer)
    {
        _subscribers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    public Task<NotificationResult> PublishAsync(int version)
    {
        _version = version;
        return _subscribers.NotifyAsync(o => o.OnVersionAsync(GetPrimaryKeyString(), version));
    }

    public Task<int> GetVersionAsync() => Task.FromResult(_version);

    public Task<int> SubscriberCountAsync() => Task.FromResult(_subscribers.Count);
}
