using ControlPlane.Grains.Diagnostics;

namespace ControlPlane.Grains.Runtime;

/// <summary>An in-memory grain timer: each tick is queued as a turn of its activation, so the callback never overlaps
/// the grain's other turns. A tick that comes while the previous callback is still queued or running is skipped.
/// Timers do not count as activity for idle collection, and die with the activation.</summary>
internal sealed class GrainTimer(GrainActivation activation, Func<CancellationToken, Task> callback, bool interleave) : IDisposable
{
    private readonly CancellationTokenSource _disposed = new();
    private ITimer? _timer;
    private int _inFlight;

    public void Start(TimeSpan dueTime, TimeSpan period)
    {
        _timer = activation.Runtime.TimeProvider.CreateTimer(static s => ((GrainTimer)s!).OnTick(), this, dueTime, period);
    }

    public void Dispose()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        _disposed.Cancel();
        _timer?.Dispose();
        activation.RemoveTimer(this);
    }

    private void OnTick()
    {
        if (_disposed.IsCancellationRequested || Interlocked.CompareExchange(ref _inFlight, 1, 0) != 0)
        {
            return;
        }

        if (!activation.TryEnqueue(new TimerTurn(this)))
        {
            Volatile.Write(ref _inFlight, 0);
        }
    }

    private sealed class TimerTurn(GrainTimer timer)
        : GrainTurn(timer.InterleaveKind, chain: null)
    {
        public override bool CountsAsActivity => false;

        public override async Task RunAsync(GrainActivation activation)
        {
            try
            {
                if (!timer._disposed.IsCancellationRequested)
                {
                    await timer.Callback(timer._disposed.Token);
                }
            }
#pragma warning disable CA1031 // A failing tick is logged; the timer keeps ticking, as in Orleans.
            catch (Exception error)
#pragma warning restore CA1031
            {
                activation.Runtime.Log.TimerFailed(activation.GrainId, error);
            }
            finally
            {
                Volatile.Write(ref timer._inFlight, 0);
            }
        }

        public override void Fail(Exception error) => Volatile.Write(ref timer._inFlight, 0);

        public override void Reroute(GrainRuntime runtime, Placement.GrainLocation? owner) => Volatile.Write(ref timer._inFlight, 0);
    }

    private TurnKind InterleaveKind => interleave ? TurnKind.AlwaysInterleave : TurnKind.Exclusive;

    private Func<CancellationToken, Task> Callback => callback;
}
