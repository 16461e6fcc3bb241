using System.Collections.Concurrent;

namespace ControlPlane.Grains.Runtime;

/// <summary>Runs one activation's tasks one at a time on the thread pool. Turns start here and, because awaits
/// capture <see cref="TaskScheduler.Current"/>, their continuations come back here too: grain code never runs on
/// two threads at once, even when turns interleave.</summary>
internal sealed class ActivationTaskScheduler : TaskScheduler, IThreadPoolWorkItem
{
    // Tasks run per thread-pool visit before yielding the thread, so one busy activation cannot starve others.
    internal const int TasksPerVisit = 64;

    [ThreadStatic]
    private static ActivationTaskScheduler? t_running;

    private readonly ConcurrentQueue<Task> _queue = new();
    private int _scheduled;

    public override int MaximumConcurrencyLevel => 1;

    protected override void QueueTask(Task task)
    {
        _queue.Enqueue(task);
        if (Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    // Inlining is safe only on the thread that is already draining this scheduler.
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        ReferenceEquals(t_running, this) && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks() => [.. _queue];

    public void Execute()
    {
        var previous = t_running;
        t_running = this;
        try
        {
            for (var i = 0; i < TasksPerVisit && _queue.TryDequeue(out var task); i++)
            {
                TryExecuteTask(task);
            }
        }
        finally
        {
            t_running = previous;
        }

        Volatile.Write(ref _scheduled, 0);

        // A task queued after the last dequeue but before the flag cleared would otherwise wait forever.
        if (!_queue.IsEmpty && Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }
}
