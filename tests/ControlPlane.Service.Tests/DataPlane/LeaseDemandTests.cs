using ControlPlane.Domain.Quotas;
using ControlPlane.Service.DataPlane;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace ControlPlane.Service.Tests.DataPlane;

/// <summary>Three routing nodes share one endpoint's 600 RPM through leases. Traffic is skewed and shifts from node to
/// node; leases must follow it, so a node is refused only when the cluster as a whole is (nearly) out of capacity.</summary>
public sealed class LeaseDemandTests(ITestOutputHelper output) : IDisposable
{
    private const long Rpm = 600;

    // "The cluster has capacity": a single bucket of the endpoint's limit, charged with every request any node admitted,
    // still holds at least this much (5 % of the limit) when a node refuses. That bucket is what the nodes would admit if
    // they shared one counter; leases may cost at most this much of it (slices held by the other nodes, not yet spent).
    private const long Tolerance = Rpm / 20;

    private const string Fleet = """
        endpoints:
          - { id: shared, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, limits: { tpm: 0, rpm: 600 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [shared], slo: { availability: 0.99 } }
        """;

    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(50);

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Leases_follow_skewed_shifting_traffic_so_no_node_is_refused_while_the_cluster_has_capacity()
    {
        await using var host = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet));
        var nodes = new List<RoutingNode> { host.Node };
        foreach (var name in new[] { "node-b", "node-c" })
        {
            var node = new RoutingNode(host.Services.GetRequiredService<FleetCatalog>(), host.Grains, _time,
                Options.Create(new ControlPlaneOptions { NodeId = name }), NullLogger<RoutingNode>.Instance);
            await node.StartAsync(CancellationToken.None);
            nodes.Add(node);
        }

        try
        {
            var cluster = new TokenBucket(Rpm, TimeSpan.FromMinutes(1), _time);
            // Requests per second per node: a burst on one node drains the bucket, then 80 % of the limit moves around.
            (int Seconds, double[] Rates)[] phases =
            [
                (15, [50, 0, 0]),
                (15, [7, 1, 0]),
                (15, [1, 0, 7]),
                (15, [0, 7, 1]),
                (15, [4, 0, 4]),
            ];
            var carry = new double[nodes.Count];
            long admitted = 0;
            long refused = 0;
            var falseRefusals = new List<string>();
            var elapsed = TimeSpan.Zero;
            foreach (var (seconds, rates) in phases)
            {
                for (var t = TimeSpan.Zero; t < TimeSpan.FromSeconds(seconds); t += Step)
                {
                    _time.Advance(Step);
                    elapsed += Step;
                    await Task.WhenAll(nodes.Select(n => n.RenewLeasesAsync()));
                    for (var n = 0; n < nodes.Count; n++)
                    {
                        for (carry[n] += rates[n] * Step.TotalSeconds; carry[n] >= 1; carry[n]--)
                        {
                            var decision = nodes[n].Route(new Contracts.V1.RouteRequest { WorkloadClass = "chat", EstimatedInputTokens = 100, MaxOutputTokens = 100 }, null);
                            if (decision.EndpointId == "shared")
                            {
                                admitted++;
                                cluster.Charge(1);
                            }
                            else
                            {
                                refused++;
                                if (cluster.Level >= Tolerance)
                                {
                                    falseRefusals.Add($"{elapsed.TotalSeconds:0.00}s node {n}: refused with {cluster.Level} left in the cluster");
                                }
                            }
                        }
                    }
                }
            }

            output.WriteLine($"admitted {admitted}, refused {refused}, refused while the cluster had >= {Tolerance}: {falseRefusals.Count}");
            foreach (var line in falseRefusals.Take(20))
            {
                output.WriteLine(line);
            }

            // The burst is refused once the bucket is spent; everything else fits (80 % of the limit).
            Assert.True(refused > 0, "the burst phase must meet the limit");
            Assert.Empty(falseRefusals);
        }
        finally
        {
            foreach (var node in nodes.Skip(1))
            {
                await node.DisposeAsync();
            }
        }
    }

    public void Dispose() => _storage.Dispose();
}
