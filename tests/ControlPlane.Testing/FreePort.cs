using System.Net;
using System.Net.Sockets;

namespace ControlPlane.Testing;

/// <summary>Finds free loopback TCP ports for servers started by tests.</summary>
public static class FreePort
{
    /// <summary>Binds port 0 on 127.0.0.1, reads the port the OS chose, and releases it.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
