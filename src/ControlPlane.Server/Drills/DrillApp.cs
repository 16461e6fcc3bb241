using ControlPlane.Drills;
using ControlPlane.Drills.Stack;

namespace ControlPlane.Server.Drills;

/// <summary><c>controlplane drill ...</c>: the drill runner (<c>src/ControlPlane.Drills</c>) with this executable's
/// embedded node (<c>--cluster 1</c>) or a 3-node cluster on a local redis-server (<c>--cluster 3</c>) as its control plane. Ctrl+C stops the drill (its moving parts are stopped, no report is written).</summary>
internal static class DrillApp
{
    public static async Task<int> RunAsync(string[] args)
    {
        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler cancel = (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        Console.CancelKeyPress += cancel;
        try
        {
            var components = DrillStack.Create(DrillControlPlanes.StartAsync);
            return await DrillCommand.RunAsync(args, components, Console.Error, interactive: !Console.IsErrorRedirected, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("controlplane drill: stopped").ConfigureAwait(false);
            return 130;
        }
        finally
        {
            Console.CancelKeyPress -= cancel;
        }
    }
}
