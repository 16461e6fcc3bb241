using System.Net;
using System.Net.Sockets;
using System.Text;
using ControlPlane.Testing;
using ControlPlane.Testing.Network;

namespace ControlPlane.Server.Cluster.Tests.Regions;

/// <summary>The federation link's test proxy against real loopback sockets: forwarding both ways with byte counters,
/// targets in turn, and the two ways of cutting (refused; black hole that holds and then delivers every byte).</summary>
public sealed class CuttableTcpProxyTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Forwards_bytes_both_ways_and_counts_them()
    {
        await using var echo = EchoServer.Start("a");
        await using var proxy = CuttableTcpProxy.Start(echo.EndPoint);
        using var client = await ConnectAsync(proxy);

        Assert.Equal("a:hello", await RoundTripAsync(client, "hello"));
        Assert.Equal("a:world!", await RoundTripAsync(client, "world!"));

        // Counted once written: the counter may trail the answer by an instant.
        await Poll(() => proxy.BytesToTarget == 11 && proxy.BytesFromTarget == 15, $"11 bytes up and 15 down (counted {proxy.BytesToTarget}, {proxy.BytesFromTarget})");
        Assert.Equal(1, proxy.ConnectionsAccepted);
        Assert.Equal(1, echo.Accepted);
        Assert.Null(proxy.CutState);
    }

    [Fact]
    public async Task New_connections_take_the_targets_in_turn_and_skip_one_that_refuses()
    {
        await using var a = EchoServer.Start("a");
        await using var b = EchoServer.Start("b");
        var dead = CuttableTcpProxy.Loopback(FreePort.Next());
        await using var proxy = CuttableTcpProxy.Start(FreePort.Next(), [a.EndPoint, dead, b.EndPoint]);

        var answers = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            using var client = await ConnectAsync(proxy);
            answers.Add((await RoundTripAsync(client, "x"))[..1]);
        }

        // Every connection was served, by both live targets, never by the dead one.
        Assert.Equal(6, answers.Count);
        Assert.Contains("a", answers);
        Assert.Contains("b", answers);
        Assert.Equal(6, a.Accepted + b.Accepted);
    }

    [Fact]
    public async Task Refuse_cut_resets_open_connections_and_refuses_new_ones_until_restored_on_the_same_port()
    {
        await using var echo = EchoServer.Start("a");
        await using var proxy = CuttableTcpProxy.Start(echo.EndPoint);
        using var open = await ConnectAsync(proxy);
        Assert.Equal("a:1", await RoundTripAsync(open, "1"));

        proxy.Cut(CutMode.Refuse);

        Assert.Equal(CutMode.Refuse, proxy.CutState);
        var reset = await Assert.ThrowsAnyAsync<Exception>(() => RoundTripAsync(open, "2"));
        Assert.True(reset is IOException or SocketException, $"expected a reset, got {reset}");
        var refused = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(proxy));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        await Poll(() => proxy.OpenConnections == 0 && echo.Open == 0, "both sides of the reset connection closed");

        proxy.Restore();

        using var again = await ConnectAsync(proxy);
        Assert.Equal("a:3", await RoundTripAsync(again, "3"));
        Assert.Null(proxy.CutState);
    }

    [Fact]
    public async Task Black_hole_accepts_and_holds_new_connections_then_delivers_them_on_restore()
    {
        await using var echo = EchoServer.Start("a");
        await using var proxy = CuttableTcpProxy.Start(echo.EndPoint);
        using var open = await ConnectAsync(proxy);
        Assert.Equal("a:before", await RoundTripAsync(open, "before"));

        proxy.Cut(CutMode.BlackHole);

        // Open connections are reset by default.
        await Assert.ThrowsAnyAsync<Exception>(() => RoundTripAsync(open, "during"));
        // A new connection is accepted (no refusal, no error) but nothing reaches the target or comes back.
        using var held = await ConnectAsync(proxy);
        await SendAsync(held, "held");
        var answer = ReceivePayloadAsync(held, "held".Length, "a:");
        await Task.Delay(TimeSpan.FromMilliseconds(700));
        Assert.False(answer.IsCompleted, "an answer came back through a black hole");
        Assert.Equal(1, echo.Accepted);
        var toTarget = proxy.BytesToTarget;

        proxy.Restore();

        Assert.Equal("held", await answer.WaitAsync(Patience));
        await Poll(() => proxy.BytesToTarget == toTarget + 4, "the held bytes counted");
        Assert.Equal(2, echo.Accepted);
    }

    [Fact]
    public async Task Black_hole_without_reset_freezes_open_connections_and_loses_no_byte()
    {
        await using var echo = EchoServer.Start("a");
        await using var proxy = CuttableTcpProxy.Start(echo.EndPoint);
        using var open = await ConnectAsync(proxy);
        Assert.Equal("a:1", await RoundTripAsync(open, "1"));

        proxy.Cut(CutMode.BlackHole, resetOpenConnections: false);

        await SendAsync(open, "23");
        await SendAsync(open, "45");
        var answer = ReceivePayloadAsync(open, "2345".Length, "a:");
        await Task.Delay(TimeSpan.FromMilliseconds(700));
        Assert.False(answer.IsCompleted, "bytes crossed a frozen link");
        Assert.Equal(0, proxy.ConnectionsReset);

        proxy.Restore();

        // Every byte, in order, on the same connection (the echo tags each read it answers: tags removed).
        Assert.Equal("2345", await answer.WaitAsync(Patience));
        Assert.Equal("a:6", await RoundTripAsync(open, "6"));
        Assert.Equal(1, proxy.ConnectionsAccepted);
    }

    [Fact]
    public async Task Dispose_resets_every_connection_and_stops_listening()
    {
        await using var echo = EchoServer.Start("a");
        var proxy = CuttableTcpProxy.Start(echo.EndPoint);
        using var open = await ConnectAsync(proxy);
        Assert.Equal("a:1", await RoundTripAsync(open, "1"));

        await proxy.DisposeAsync();

        await Assert.ThrowsAnyAsync<Exception>(() => RoundTripAsync(open, "2"));
        var refused = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(proxy));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    private static async Task<TcpClient> ConnectAsync(CuttableTcpProxy proxy)
    {
        var client = new TcpClient { NoDelay = true };
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, proxy.Port).WaitAsync(Patience);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static async Task SendAsync(TcpClient client, string text) =>
        await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(text));

    private static async Task<string> ReceiveAsync(TcpClient client, int length)
    {
        var buffer = new byte[length];
        var read = 0;
        while (read < length)
        {
            var n = await client.GetStream().ReadAsync(buffer.AsMemory(read));
            if (n == 0)
            {
                throw new IOException("The connection closed.");
            }

            read += n;
        }

        return Encoding.ASCII.GetString(buffer);
    }

    /// <summary>Reads until <paramref name="length"/> characters are left once every <paramref name="tag"/> is removed.</summary>
    private static async Task<string> ReceivePayloadAsync(TcpClient client, int length, string tag)
    {
        var text = new StringBuilder();
        var buffer = new byte[256];
        while (text.ToString().Replace(tag, "", StringComparison.Ordinal).Length < length)
        {
            var n = await client.GetStream().ReadAsync(buffer);
            if (n == 0)
            {
                throw new IOException("The connection closed.");
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return text.ToString().Replace(tag, "", StringComparison.Ordinal);
    }

    private static async Task<string> RoundTripAsync(TcpClient client, string text)
    {
        await SendAsync(client, text);
        return await ReceiveAsync(client, text.Length + 2).WaitAsync(Patience);
    }

    private static async Task Poll(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not reached: {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>A loopback TCP server that answers each read with its tag, a colon and the bytes read.</summary>
    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly string _tag;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _tasks = [];
        private int _accepted;
        private int _open;

        private EchoServer(string tag)
        {
            _tag = tag;
            _listener = new TcpListener(IPAddress.Loopback, FreePort.Next());
            _listener.Start();
            lock (_tasks)
            {
                _tasks.Add(AcceptAsync());
            }
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

        public int Accepted => Volatile.Read(ref _accepted);

        public int Open => Volatile.Read(ref _open);

        public static EchoServer Start(string tag) => new(tag);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            Task[] tasks;
            lock (_tasks)
            {
                tasks = [.. _tasks];
            }

            await Task.WhenAll(tasks).WaitAsync(Patience);
            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            while (true)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception error) when (error is SocketException or ObjectDisposedException or OperationCanceledException)
                {
                    return;
                }

                Interlocked.Increment(ref _accepted);
                Interlocked.Increment(ref _open);
                lock (_tasks)
                {
                    _tasks.Add(ServeAsync(client));
                }
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            using (client)
            {
                var buffer = new byte[4096];
                var prefix = Encoding.ASCII.GetBytes(_tag + ":");
                try
                {
                    var stream = client.GetStream();
                    while (true)
                    {
                        var n = await stream.ReadAsync(buffer, _stop.Token);
                        if (n == 0)
                        {
                            return;
                        }

                        await stream.WriteAsync(prefix.Concat(buffer.Take(n)).ToArray(), _stop.Token);
                    }
                }
                catch (Exception error) when (error is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
                {
                    // Reset or stopping.
                }
                finally
                {
                    Interlocked.Decrement(ref _open);
                }
            }
        }
    }
}
