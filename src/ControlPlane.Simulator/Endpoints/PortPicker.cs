using System.Net;
using System.Net.Sockets;

namespace ControlPlane.Simulator.Endpoints;

/// <summary>
/// Picks endpoint ports when no <c>--base-port</c> is given: free ports below Linux's ephemeral range (32768+), never
/// port 0. A refused outage closes an endpoint's port and rebinds it later; an ephemeral port could meanwhile be handed
/// to some outgoing connection, ports below the range are not.
/// </summary>
internal static class PortPicker
{
    private const int First = 20_000;
    private const int Count = 12_000;
    private static int s_next = Random.Shared.Next(Count);

    /// <summary>A port on <paramref name="address"/> that was free a moment ago.</summary>
    public static int Next(IPAddress address)
    {
        for (int tries = 0; tries < Count; tries++)
        {
            int port = First + (int)((uint)Interlocked.Increment(ref s_next) % Count);
            try
            {
                using var listener = new TcpListener(address, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try the next one.
            }
        }

        throw new IOException($"No free port in {First}-{First + Count - 1} on {address}.");
    }
}
