using System.Diagnostics.Metrics;
using ControlPlane.Service;
using ControlPlane.Service.Federation;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Tests.Federation;

/// <summary>The federation link gauge as the region alerts read it: every configured peer is reported from the start
/// (0 before any link came up), labelled with this region and the peer; a node that stops leading a link reports 0
/// rather than dropping the series; nothing is reported with federation off.</summary>
public sealed class FederationMetricsTests
{
    private const string Region = "metrics-test-home";

    [Fact]
    public void Every_configured_peer_is_reported_down_from_the_start_with_both_regions_and_stays_reported()
    {
        var federation = new FederationOptions { Region = Region };
        federation.Peers.Add("metrics-test-peer-a", new Uri("http://127.0.0.1:1"));
        federation.Peers.Add("metrics-test-peer-b", new Uri("http://127.0.0.1:2"));
        using var metrics = new FederationMetrics(Options.Create(new ControlPlaneOptions()), Options.Create(federation));

        Assert.False(metrics.IsUp("metrics-test-peer-a"));
        Assert.Equal(new Dictionary<string, int> { ["metrics-test-peer-a"] = 0, ["metrics-test-peer-b"] = 0 }, Observe());

        metrics.LinkUp("metrics-test-peer-a", true);
        Assert.Equal(new Dictionary<string, int> { ["metrics-test-peer-a"] = 1, ["metrics-test-peer-b"] = 0 }, Observe());

        // Another node took over the link: this one reports 0 (the region's link is the maximum over its nodes).
        metrics.Forget("metrics-test-peer-a");
        Assert.False(metrics.IsUp("metrics-test-peer-a"));
        Assert.Equal(new Dictionary<string, int> { ["metrics-test-peer-a"] = 0, ["metrics-test-peer-b"] = 0 }, Observe());
    }

    [Fact]
    public void Nothing_is_reported_with_federation_off()
    {
        var federation = new FederationOptions();
        federation.Peers.Add("metrics-test-peer-c", new Uri("http://127.0.0.1:3"));
        using var metrics = new FederationMetrics(Options.Create(new ControlPlaneOptions()), Options.Create(federation));

        Assert.Null(metrics.IsUp("metrics-test-peer-c"));
        Assert.DoesNotContain("metrics-test-peer-c", Observe(region: ""));
    }

    /// <summary>The link gauge's current values for <paramref name="region"/>, by peer (other meters of this process,
    /// such as other tests' nodes, report other regions).</summary>
    private static Dictionary<string, int> Observe(string region = Region)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "controlplane.federation.link.up")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
        {
            string? own = null;
            string? peer = null;
            foreach (var tag in tags)
            {
                if (tag.Key == FederationMetrics.RegionTag)
                {
                    own = tag.Value as string;
                }
                else if (tag.Key == FederationMetrics.PeerTag)
                {
                    peer = tag.Value as string;
                }
            }

            if (own == region && peer is not null && peer.StartsWith("metrics-test-", StringComparison.Ordinal))
            {
                seen[peer] = value;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }
}
