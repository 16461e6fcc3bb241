using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Server.Tests.Federation;
using ControlPlane.Service.Security;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Prometheus;

/// <summary>The region alerts of <c>deploy/prometheus/controlplane-rules.yaml</c> against real federated nodes: a node
/// whose peer region is unreachable exports <c>controlplane_federation_link_up 0</c> for it (labelled with both
/// regions) and a real Prometheus loading the rules raises <c>region_link_down</c> for that link; a follower region
/// that adopted a change exports every federation metric the rules read, the lag histogram with buckets at the
/// rules' thresholds.</summary>
public sealed class FederationScrapeTests
{
    /// <summary>The federation metrics' name prefix (exported only with federation on).</summary>
    internal const string Prefix = "controlplane_federation_";

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_node_whose_peer_is_unreachable_exports_its_link_as_0_and_prometheus_raises_region_link_down()
    {
        // Nothing listens on the peer's port: the link never comes up.
        await using var node = await TwoRegions.StartRegionAsync("us-east", FreePort.Next(), "eu-west", FreePort.Next(), null);
        using var viewer = await node.AdminAsAsync("metrics-reader", Roles.Viewer);
        var scrape = await ScrapeUntilAsync(viewer, text => Sample(text, "controlplane_federation_link_up", "us-east", "eu-west") is not null);
        Assert.Equal("0", Sample(scrape, "controlplane_federation_link_up", "us-east", "eu-west"));

        var key = await node.KeyForAsync("prometheus-scrape", Roles.Viewer);
        await using var prometheus = await PrometheusServer.StartAsync(node.AdminAddress, key);
        // The test server evaluates every second: the alert is pending (its `for` is 1 m) once a scrape carried the 0.
        // Selected by this node's region: nodes of other tests running in this process share the static Meter, so
        // the scrape can also carry their links.
        var alerts = await prometheus.QueryUntilAsync("ALERTS{alertname=\"region_link_down\",region=\"us-east\"}", r => r.GetArrayLength() > 0, Bound);
        var alert = Assert.Single(alerts.EnumerateArray()).GetProperty("metric");
        Assert.Equal("us-east", alert.GetProperty("region").GetString());
        Assert.Equal("eu-west", alert.GetProperty("peer_region").GetString());
        Assert.Equal("region-link-down", alert.GetProperty("rule").GetString());
        Assert.Equal("page", alert.GetProperty("severity").GetString());
    }

    [Fact]
    public async Task A_follower_that_adopted_a_change_exports_every_federation_metric_the_rules_read()
    {
        await using var regions = await TwoRegions.StartAsync();
        // A breaker forced in us-east (ep-us's home) is adopted by eu-west: a change with its lag.
        using (var response = await regions.Us.Admin.PostAsJsonAsync("admin/v1/endpoints/ep-us/breaker", new { state = "open", reason = "alert test" }))
        {
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        var referenced = PrometheusScrapeTests.MetricsReadByTheRules().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).ToList();
        Assert.Contains("controlplane_federation_link_up", referenced);
        Assert.Contains("controlplane_federation_lag_seconds_bucket", referenced);
        using var viewer = await regions.Eu.AdminAsAsync("metrics-reader", Roles.Viewer);
        var scrape = await ScrapeUntilAsync(viewer, text =>
            Sample(text, "controlplane_federation_link_up", "eu-west", "us-east") == "1"
            && referenced.All(name => Sample(text, name, "eu-west", "us-east") is not null));

        Assert.Equal("1", Sample(scrape, "controlplane_federation_link_up", "eu-west", "us-east"));
        Assert.All(referenced, name => Assert.NotNull(Sample(scrape, name, "eu-west", "us-east")));
        // The lag histogram has buckets at the loopback goal (250 ms) and at region-lag-high's threshold (1 s), so its
        // p99 around them is read from counts, not from interpolation inside a bucket of seconds.
        Assert.NotNull(Sample(scrape, "controlplane_federation_lag_seconds_bucket", "eu-west", "us-east", "le=\"0.25\""));
        Assert.NotNull(Sample(scrape, "controlplane_federation_lag_seconds_bucket", "eu-west", "us-east", "le=\"1\""));
        Assert.True(double.Parse(Sample(scrape, "controlplane_federation_changes_total", "eu-west", "us-east")!,
            System.Globalization.CultureInfo.InvariantCulture) >= 1, scrape);
    }

    /// <summary>The value of the first sample of <paramref name="name"/> whose labels name this region, the peer region
    /// and (when given) one more label; null when there is none.</summary>
    private static string? Sample(string scrape, string name, string region, string peer, string? label = null)
    {
        foreach (Match line in Regex.Matches(scrape, "^" + Regex.Escape(name) + @"\{([^}]*)\} (\S+)", RegexOptions.Multiline))
        {
            var labels = line.Groups[1].Value;
            if (labels.Contains($"controlplane_region=\"{region}\"", StringComparison.Ordinal)
                && labels.Contains($"controlplane_region_peer=\"{peer}\"", StringComparison.Ordinal)
                && (label is null || labels.Contains(label, StringComparison.Ordinal)))
            {
                return line.Groups[2].Value;
            }
        }

        return null;
    }

    private static async Task<string> ScrapeUntilAsync(HttpClient viewer, Func<string, bool> done)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (true)
        {
            using var response = await viewer.GetAsync("metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var scrape = await response.Content.ReadAsStringAsync();
            if (done(scrape) || DateTime.UtcNow > deadline)
            {
                return scrape;
            }

            await Task.Delay(250);
        }
    }
}
