using System.Runtime.InteropServices;
using ControlPlane.Service.Admin;
using ControlPlane.Service.FleetReload;
using ControlPlane.Service.Security;
using Microsoft.Extensions.Hosting;

namespace ControlPlane.Server;

/// <summary>SIGHUP reloads the fleet file, exactly as <c>POST /admin/v1/fleet/reload</c> does, as the actor
/// <c>system:sighup</c>; the outcome is printed (applied: generation and changes on standard output; refused: every
/// reason on standard error). Signals arriving while a reload runs are folded into it.</summary>
internal sealed class SighupReload(FleetReloader reloader) : IHostedLifecycleService, IDisposable
{
    private readonly SemaphoreSlim _running = new(1, 1);
    private PosixSignalRegistration? _registration;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Only once the node runs: a reload needs the cluster.
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsWindows())
        {
            _registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                _ = Task.Run(ReloadAsync, CancellationToken.None);
            });
        }

        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        _registration?.Dispose();
        _registration = null;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _registration?.Dispose();
        _running.Dispose();
    }

    private async Task ReloadAsync()
    {
        if (!await _running.WaitAsync(0).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            var outcome = await reloader.ReloadAsync(AdminActor.System("sighup"), "SIGHUP").ConfigureAwait(false);
            Console.WriteLine(outcome.Changes.Count == 0
                ? $"Fleet reload (SIGHUP): {outcome.Source} matches fleet generation {outcome.Version}; nothing changed."
                : $"Fleet reload (SIGHUP): fleet generation {outcome.Version} from {outcome.Source}: {string.Join("; ", outcome.Changes)}");
        }
        catch (FleetReloadRefusedException refused)
        {
            await Console.Error.WriteLineAsync($"controlplane: {refused.Message}").ConfigureAwait(false);
        }
        catch (Exception error) when (error is AdminException or OrleansException or TimeoutException)
        {
            await Console.Error.WriteLineAsync($"controlplane: fleet reload (SIGHUP) failed: {error.Message}").ConfigureAwait(false);
        }
        finally
        {
            _running.Release();
        }
    }
}
