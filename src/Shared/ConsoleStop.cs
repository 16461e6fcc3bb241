using System.Runtime.InteropServices;

namespace ControlPlane.Shared;

/// <summary>The stop signal of a console front (the simulator, the prober): a token cancelled by Ctrl+C or SIGTERM,
/// either of which is then kept from ending the process so the caller can shut down in order. Compiled into each
/// front that uses it (a linked source file: <c>src/Shared</c>), so no front takes a project reference for it.</summary>
internal sealed class ConsoleStop : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration _sigterm;

    /// <summary>Starts listening for Ctrl+C and SIGTERM.</summary>
    public ConsoleStop()
    {
        Console.CancelKeyPress += OnCancelKeyPress;
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            _stop.Cancel();
        });
    }

    /// <summary>Cancelled once Ctrl+C or SIGTERM arrived.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>Completes once Ctrl+C or SIGTERM arrived.</summary>
    public async Task WaitAsync()
    {
        try
        {
            await Task.Delay(Timeout.Infinite, _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C or SIGTERM.
        }
    }

    /// <summary>Stops listening.</summary>
    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        _sigterm.Dispose();
        _stop.Dispose();
    }

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        e.Cancel = true;
        _stop.Cancel();
    }
}
