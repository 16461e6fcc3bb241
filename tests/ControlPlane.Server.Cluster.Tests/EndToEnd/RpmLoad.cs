using System.Diagnostics;
using ControlPlane.Server.Cluster.Tests.Support;
using Grpc.Core;

namespace ControlPlane.Server.Cluster.Tests.EndToEnd;

/// <summary>Routes class <c>chat</c> (one endpoint, <c>limited</c>) as fast as a few workers can.</summary>
internal static class RpmLoad
{
    public static async Task<(long Admitted, long Refused, long Errors)> RouteForAsync(ClusterNode node, TimeSpan duration, int workers)
    {
        long admitted = 0, refused = 0, errors = 0;
        var until = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            while (until.Elapsed < duration)
            {
                try
                {
                    var decision = await node.RouteAsync("chat", input: 100, maxOutput: 100);
                    if (decision.EndpointId == "limited")
                    {
                        Interlocked.Increment(ref admitted);
                    }
                    else
                    {
                        Assert.Equal("", decision.EndpointId);
                        Interlocked.Increment(ref refused);
                    }
                }
                catch (RpcException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }));
        return (admitted, refused, errors);
    }
}
