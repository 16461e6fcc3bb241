using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace ControlPlane.Service.Tests.DataPlane;

/// <summary>Interactive and batch classes share one endpoint's quota: under a batch flood the interactive class keeps
/// its weighted share (the domain's fair-share rule applied to every lease slice), batch gets what is left.</summary>
public sealed class PriorityUnderContentionTests(ITestOutputHelper output) : IDisposable
{
    // customer_chat (interactive, weight 4) and batch_classification (batch, weight 1) on one 600 RPM endpoint:
    // customer_chat's share is 4/5 of it, 8 requests a second.
    private const string Fleet = """
        endpoints:
          - { id: shared, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, limits: { tpm: 0, rpm: 600 }, owner_team: t, on_call: t }
        classes:
          - { name: customer_chat, owner: t, mode: auto_fallback, priority: interactive, weight: 4, primary: [shared], slo: { availability: 0.99 } }
          - { name: batch_classification, owner: t, mode: auto_fallback, priority: batch, weight: 1, primary: [shared], slo: { availability: 0.99 } }
        """;

    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(50);

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task A_batch_flood_cannot_starve_customer_chat_on_a_shared_endpoint()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet));

        // 60 s: batch asks for 40 requests a second (four times the limit), customer_chat for 5 (below its share of 8).
        const double BatchRate = 40;
        const double ChatRate = 5;
        double batchCarry = 0;
        double chatCarry = 0;
        long chatAsked = 0;
        long chatAdmitted = 0;
        long batchAdmitted = 0;
        long contendedChatAsked = 0;
        long contendedChatAdmitted = 0;
        var elapsed = TimeSpan.Zero;
        for (; elapsed < TimeSpan.FromSeconds(60); elapsed += Step)
        {
            _time.Advance(Step);
            await node.Node.RenewLeasesAsync();
            // Interleaved as they would arrive: batch first in each step, so it always gets the first go at the slice.
            for (batchCarry += BatchRate * Step.TotalSeconds; batchCarry >= 1; batchCarry--)
            {
                if (node.Route("batch_classification", 100, 100).EndpointId == "shared")
                {
                    batchAdmitted++;
                }
            }

            for (chatCarry += ChatRate * Step.TotalSeconds; chatCarry >= 1; chatCarry--)
            {
                chatAsked++;
                bool admitted = node.Route("customer_chat", 100, 100).EndpointId == "shared";
                chatAdmitted += admitted ? 1 : 0;
                // After the first 20 s the 600-request burst is long spent: only refill is shared.
                if (elapsed >= TimeSpan.FromSeconds(20))
                {
                    contendedChatAsked++;
                    contendedChatAdmitted += admitted ? 1 : 0;
                }
            }
        }

        output.WriteLine($"customer_chat {chatAdmitted}/{chatAsked} (contended {contendedChatAdmitted}/{contendedChatAsked}), batch {batchAdmitted}");

        // customer_chat asked for less than its share: (almost) all of it is admitted, also once the bucket only refills
        // (without the priority shares: none of it). 10 % slack for the node's own loop renewing between the test's calls.
        Assert.True(contendedChatAdmitted >= contendedChatAsked * 0.9,
            $"customer_chat admitted {contendedChatAdmitted} of {contendedChatAsked} under the batch flood");
        // Batch is not shut out: it gets the rest (burst plus refill minus chat, within the limit).
        Assert.True(batchAdmitted > 0);
        Assert.True(batchAdmitted + chatAdmitted <= 600 + 600 + 10, "the cluster never admits more than the bucket and its refill");
    }

    public void Dispose() => _storage.Dispose();
}
