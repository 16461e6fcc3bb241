using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ControlPlane.Redis.Tests.Connection;

/// <summary>A loopback TCP server that plays a scripted part per accepted connection, for the
/// misbehaviour a real redis-server never shows (corrupt bytes, silence, unsolicited replies).</summary>
internal sealed class ScriptedPeer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly List<TcpClient> _clients = [];

    public ScriptedPeer(Func<int, NetworkStream, CancellationToken, Task> script)
    {
        _listener.Start();
        _accepting = AcceptAsync(script);
    }

    public string Endpoint => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public int Accepted { get; private set; }

    /// <summary>Reads until at least one complete command line set arrived (a crude frame: ends with CRLF).</summary>
    public static async Task<string> ReadCommandAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var received = new StringBuilder();
        do
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                break;
            }

            received.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
        while (!received.ToString().EndsWith("\r\n", StringComparison.Ordinal));

        return received.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_clients)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }

        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync(Func<int, NetworkStream, CancellationToken, Task> script)
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            lock (_clients)
            {
                _clients.Add(client);
            }

            var index = Accepted++;
            _ = Task.Run(async () =>
            {
                try
                {
                    await script(index, client.GetStream(), _stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
                {
                    // The client or the test went away.
                }
            });
        }
    }
}
