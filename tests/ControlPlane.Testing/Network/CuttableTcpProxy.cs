using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace ControlPlane.Testing.Network;

/// <summary>How <see cref="CuttableTcpProxy.Cut"/> cuts the link.</summary>
public enum CutMode
{
    /// <summary>The listening socket is closed: a new connection gets "connection refused" (the kernel answers SYN
    /// with RST), as when the peer's host is up but nothing listens or a firewall rejects.</summary>
    Refuse,

    /// <summary>A WAN partition where packets vanish: new connections are accepted and never forwarded (nothing comes
    /// back, no error either), and bytes stop moving in both directions. Nothing is dropped: what was sent waits in the
    /// socket buffers and moves on <see cref="CuttableTcpProxy.Restore"/>, as TCP retransmission does when a
    /// partition heals.</summary>
    BlackHole,
}

/// <summary>A real TCP proxy on a loopback port in front of one or more targets (new connections go to the targets in
/// turn; a target that refuses is skipped), which a test cuts and restores: the federation link between two regions.
/// Counts the bytes it forwarded each way and the connections it accepted.</summary>
/// <remarks>Own sockets, no library: each accepted connection gets a connection to a target and two pumps (one per
/// direction) that wait on the link's gate before every read and every write, so a cut stops traffic at once and a
/// restore resumes it without losing or reordering a byte. Disposing resets every connection and stops listening.</remarks>
public sealed class CuttableTcpProxy : IAsyncDisposable
{
    private const int BufferSize = 16 * 1024;
    private readonly object _lock = new();
    private readonly IPEndPoint[] _targets;
    private readonly HashSet<Connection> _connections = [];
    private readonly List<Task> _tasks = [];
    private readonly CancellationTokenSource _disposing = new();
    private TaskCompletionSource _open = Opened();
    private Socket? _listener;
    private CutMode? _cut;
    private bool _disposed;
    private int _nextTarget;
    private long _bytesToTarget;
    private long _bytesFromTarget;
    private long _accepted;
    private long _resets;

    private CuttableTcpProxy(int port, IPEndPoint[] targets)
    {
        Port = port;
        _targets = targets;
    }

    /// <summary>The loopback port the proxy listens on (the same after a cut and restore).</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:port</c>.</summary>
    public string Address => $"127.0.0.1:{Port}";

    /// <summary><c>http://127.0.0.1:port</c>, for an h2c gRPC channel through the proxy.</summary>
    public Uri HttpUri => new($"http://127.0.0.1:{Port}");

    /// <summary>The targets, in the order new connections take them.</summary>
    public IReadOnlyList<IPEndPoint> Targets => _targets;

    /// <summary>How the link is cut now, or null while it forwards.</summary>
    public CutMode? CutState
    {
        get
        {
            lock (_lock)
            {
                return _cut;
            }
        }
    }

    /// <summary>Bytes written to the targets so far.</summary>
    public long BytesToTarget => Interlocked.Read(ref _bytesToTarget);

    /// <summary>Bytes written back to the clients so far.</summary>
    public long BytesFromTarget => Interlocked.Read(ref _bytesFromTarget);

    /// <summary>Client connections accepted so far.</summary>
    public long ConnectionsAccepted => Interlocked.Read(ref _accepted);

    /// <summary>Connections (client and target side counted once) closed with RST by a cut, a failed target or disposal.</summary>
    public long ConnectionsReset => Interlocked.Read(ref _resets);

    /// <summary>Client connections open now (forwarding, held by a black hole, or connecting).</summary>
    public int OpenConnections
    {
        get
        {
            lock (_lock)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>Starts a proxy on a free loopback port (<see cref="FreePort"/>) forwarding to <paramref name="targets"/>.</summary>
    public static CuttableTcpProxy Start(params IPEndPoint[] targets) => Start(FreePort.Next(), targets);

    /// <summary>Starts a proxy on <paramref name="port"/> forwarding to <paramref name="targets"/> (at least one).</summary>
    public static CuttableTcpProxy Start(int port, IReadOnlyList<IPEndPoint> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targets.Count, nameof(targets));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);
        var proxy = new CuttableTcpProxy(port, [.. targets]);
        lock (proxy._lock)
        {
            proxy.ListenLocked();
        }

        return proxy;
    }

    /// <summary>A loopback endpoint (for targets).</summary>
    public static IPEndPoint Loopback(int port) => new(IPAddress.Loopback, port);

    /// <summary>Cuts the link. <paramref name="mode"/> says what new connections see; with
    /// <paramref name="resetOpenConnections"/> (the default) every open connection is closed with RST at once (both
    /// sides see "connection reset"); without it, open connections freeze (only meaningful with
    /// <see cref="CutMode.BlackHole"/>: in <see cref="CutMode.Refuse"/> mode open connections are always reset). Cutting
    /// an already cut link switches the mode.</summary>
    public void Cut(CutMode mode = CutMode.Refuse, bool resetOpenConnections = true)
    {
        List<Connection> reset;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _cut = mode;
            if (_open.Task.IsCompleted)
            {
                _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            if (mode == CutMode.Refuse)
            {
                // Stop listening first: nothing new slips in while the open connections are reset.
                CloseListenerLocked();
            }
            else if (_listener is null)
            {
                ListenLocked();
            }

            reset = mode == CutMode.Refuse || resetOpenConnections ? [.. _connections] : [];
        }

        foreach (var connection in reset)
        {
            ResetConnection(connection);
        }
    }

    /// <summary>Restores the link: listens again (same port) and lets every held byte and connection through.</summary>
    public void Restore()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _cut = null;
            if (_listener is null)
            {
                ListenLocked();
            }

            _open.TrySetResult();
        }
    }

    /// <summary>Stops listening, resets every connection and waits for the pumps to end.</summary>
    public async ValueTask DisposeAsync()
    {
        List<Connection> connections;
        Task[] tasks;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            CloseListenerLocked();
            connections = [.. _connections];
        }

        await _disposing.CancelAsync().ConfigureAwait(false);
        foreach (var connection in connections)
        {
            ResetConnection(connection);
        }

        lock (_lock)
        {
            tasks = [.. _tasks];
        }

        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _disposing.Dispose();
    }

    private static TaskCompletionSource Opened()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }

    private static void Abort(Socket? socket)
    {
        if (socket is null)
        {
            return;
        }

        try
        {
            // Linger 0: close sends RST instead of FIN.
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception error) when (error is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }

        socket.Dispose();
    }

    private void ListenLocked()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Rebinding after a Refuse cut must not fail on the old connections' TIME_WAIT entries.
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, Port));
            listener.Listen(512);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        Track(AcceptLoopAsync(listener));
    }

    private void CloseListenerLocked()
    {
        // Closing the listening socket also resets the connections still in its backlog.
        _listener?.Dispose();
        _listener = null;
    }

    private void Track(Task task)
    {
        _tasks.RemoveAll(t => t.IsCompleted);
        _tasks.Add(task);
    }

    private Task Gate()
    {
        lock (_lock)
        {
            return _open.Task;
        }
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_disposing.Token).ConfigureAwait(false);
            }
            catch (Exception error) when (error is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            client.NoDelay = true;
            var connection = new Connection(client);
            lock (_lock)
            {
                if (_disposed || _cut == CutMode.Refuse)
                {
                    // Accepted in the instant before the listener closed.
                    connection.Dispose();
                    Abort(client);
                    continue;
                }

                _connections.Add(connection);
                Track(RunAsync(connection));
            }
        }
    }

    private async Task RunAsync(Connection connection)
    {
        try
        {
            // A black hole holds a new connection here: accepted, never connected onwards.
            await Gate().WaitAsync(connection.Token).ConfigureAwait(false);
            connection.Target = await ConnectAsync(connection.Token).ConfigureAwait(false);
            if (connection.Target is null)
            {
                ResetConnection(connection);
                return;
            }

            using var client = new NetworkStream(connection.Client, ownsSocket: false);
            using var target = new NetworkStream(connection.Target, ownsSocket: false);
            var up = PumpAsync(connection, client, connection.Target, target, toTarget: true);
            var down = PumpAsync(connection, target, connection.Client, client, toTarget: false);
            await Task.WhenAll(up, down).ConfigureAwait(false);
            if (!connection.Token.IsCancellationRequested)
            {
                // Both sides finished cleanly (FIN each way): close without RST.
                connection.Client.Dispose();
                connection.Target.Dispose();
            }
        }
        catch (OperationCanceledException)
        {
            // Reset by a cut or disposal.
        }
        finally
        {
            lock (_lock)
            {
                _connections.Remove(connection);
            }

            connection.Dispose();
        }
    }

    private async Task<Socket?> ConnectAsync(CancellationToken cancellationToken)
    {
        var first = (int)((uint)Interlocked.Increment(ref _nextTarget) % (uint)_targets.Length);
        for (var i = 0; i < _targets.Length; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(_targets[(first + i) % _targets.Length], cancellationToken).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException)
            {
                socket.Dispose();
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        return null;
    }

    private async Task PumpAsync(Connection connection, NetworkStream from, Socket toSocket, NetworkStream to, bool toTarget)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                await Gate().WaitAsync(connection.Token).ConfigureAwait(false);
                var read = await from.ReadAsync(buffer, connection.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    // Half-close: pass the FIN on.
                    toSocket.Shutdown(SocketShutdown.Send);
                    return;
                }

                // Read just before a cut: held until the restore, never dropped.
                await Gate().WaitAsync(connection.Token).ConfigureAwait(false);
                await to.WriteAsync(buffer.AsMemory(0, read), connection.Token).ConfigureAwait(false);
                Interlocked.Add(ref toTarget ? ref _bytesToTarget : ref _bytesFromTarget, read);
            }
        }
        catch (Exception error) when (error is IOException or SocketException or ObjectDisposedException)
        {
            // One side reset or went away: reset the other too, as a real link break would show it.
            ResetConnection(connection);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void ResetConnection(Connection connection)
    {
        if (!connection.TryReset())
        {
            return;
        }

        Interlocked.Increment(ref _resets);
        Abort(connection.Client);
        Abort(connection.Target);
    }

    private sealed class Connection : IDisposable
    {
        private readonly CancellationTokenSource _reset = new();
        private int _resetOnce;
        private int _disposed;

        public Connection(Socket client)
        {
            Client = client;
            Token = _reset.Token;
        }

        public Socket Client { get; }

        public Socket? Target { get; set; }

        /// <summary>Cancelled when the connection is reset (read once, so it stays valid after disposal).</summary>
        public CancellationToken Token { get; }

        public bool TryReset()
        {
            if (Interlocked.Exchange(ref _resetOnce, 1) != 0)
            {
                return false;
            }

            if (Volatile.Read(ref _disposed) == 0)
            {
                try
                {
                    _reset.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // Finished meanwhile.
                }
            }

            return true;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _reset.Dispose();
            }
        }
    }
}
