using System.Net;
using System.Net.Sockets;

namespace FlashDeal.TestInfrastructure;

internal static class FreePort
{
    /// <summary>A port the OS just handed out; callers retry on the rare race with another process binding it.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
