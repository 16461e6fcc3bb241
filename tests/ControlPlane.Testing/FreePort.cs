using System.Net;
using System.Net.Sockets;

namespace ControlPlane.Testing;

/// <summary>Finds free loopback TCP ports for servers started by tests.</summary>
/// <remarks>The ports come from below Linux's ephemeral range (32768-60999 by default), never from binding port 0: an
/// ephemeral port found free can be handed by the OS to an outgoing connection (a Redis client, an HTTP client) before
/// the server under test binds it, which failed a fault test once with "Address already in use". Ports below the range
/// are never given to outgoing connections; each is checked bindable, and a process walks them from a random start so
/// test processes one after another do not reuse each other's ports.</remarks>
public static class FreePort
{
    private const int First = 20_000;
    private const int Count = 12_000;
    private static int s_next = Random.Shared.Next(Count);

    /// <summary>A loopback port that was free a moment ago and is not in the ephemeral range.</summary>
    public static int Next()
    {
        for (var tries = 0; tries < Count; tries++)
        {
            var port = First + (int)((uint)Interlocked.Increment(ref s_next) % Count);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try the next one.
            }
        }

        throw new InvalidOperationException($"No free loopback port in {First}-{First + Count - 1}.");
    }
}
