using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using ControlPlane.Server.Cluster.Tests.Support;
using ControlPlane.Service.Alerting;
using ControlPlane.Service.Security;
using ControlPlane.Testing.Redis;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace ControlPlane.Server.Cluster.Tests.Alerting;

/// <summary>Alerts are decided by the grain that owns the target, so a cluster of two silos, both evaluating on their
/// timers, publishes each state change once; either node's <c>GET /admin/v1/alerts</c> shows the same alerts.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterAlertTests(RedisServerFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task Two_silos_publish_each_alert_once_and_both_list_it()
    {
        // Two deprecated endpoints (30 and 60 days out), likely owned by different silos.
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var fleet = ControlPlane.Fleet.FleetLoader.Load(new StringReader($$"""
            endpoints:
              - { id: old-a, provider: p, model: m, model_version: v1, region: r, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: team-a, on_call: a-oncall, deprecation: { date: {{today.AddDays(30).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}} } }
              - { id: old-b, provider: p, model: m, model_version: v1, region: r, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: team-b, on_call: b-oncall, deprecation: { date: {{today.AddDays(60).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}} } }
            classes:
              - { name: chat, owner: team-c, mode: auto_fallback, primary: [old-a], fallbacks: [old-b], slo: { availability: 0.99 } }
            """), "alerts-test.yaml");
        var notices = new SharedNotifier();
        var clusterId = TestCluster.NewClusterId();
        await using var n1 = await ClusterNode.StartAsync(redis.Endpoint, clusterId, "n1", fleet, ControlPlane.Server.NodeRole.Both,
            o => o.EvaluationPeriod = TimeSpan.FromMilliseconds(200), output, services: s => s.AddSingleton<IAlertNotifier>(notices));
        await using var n2 = await ClusterNode.StartAsync(redis.Endpoint, clusterId, "n2", fleet, ControlPlane.Server.NodeRole.Both,
            o => o.EvaluationPeriod = TimeSpan.FromMilliseconds(200), output, services: s => s.AddSingleton<IAlertNotifier>(notices));

        // Activate both grains through either node, then let both silos run many evaluation periods.
        await Poll.UntilAsync(async () => (await ListAsync(n1)).Count == 2 && (await ListAsync(n2)).Count == 2, "both alerts listed on both nodes", TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(3));

        var published = notices.Notices;
        Assert.Equal(["deprecation-notice:endpoint:old-a", "deprecation-notice:endpoint:old-b"], published.Select(n => n.Key).Order(StringComparer.Ordinal));
        Assert.All(published, n => Assert.Equal((AlertState.Firing, 1L), (n.State, n.Sequence)));

        foreach (var node in new[] { n1, n2 })
        {
            var alerts = await ListAsync(node);
            var a = Assert.Single(alerts, e => e.GetProperty("targetId").GetString() == "old-a");
            Assert.Equal(("deprecation-notice", "firing", "strategic", "ticket", "endpoint", "team-a", "a-oncall", 1L),
                (a.GetProperty("rule").GetString(), a.GetProperty("state").GetString(), a.GetProperty("kind").GetString(), a.GetProperty("severity").GetString(),
                 a.GetProperty("targetKind").GetString(), a.GetProperty("ownerTeam").GetString(), a.GetProperty("onCall").GetString(), a.GetProperty("sequence").GetInt64()));
            Assert.Equal(["chat"], a.GetProperty("workloadClasses").EnumerateArray().Select(c => c.GetString()));
        }

        // A viewer may read the list; an unknown state filter is a 400 naming the field.
        using var viewer = new HttpClient(ControlPlane.Testing.TestCredentials.Handler(await n1.KeyForAsync("vera", Roles.Viewer))) { BaseAddress = n1.AdminAddress };
        using var ok = await viewer.GetAsync("admin/v1/alerts?state=firing");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        using var bad = await viewer.GetAsync("admin/v1/alerts?state=burning");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("\"state\"", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(2, notices.Notices.Count);
    }

    private static async Task<List<JsonElement>> ListAsync(ClusterNode node) =>
        [.. (await node.GetAdminJsonAsync("admin/v1/alerts")).GetProperty("alerts").EnumerateArray()];

    private sealed class SharedNotifier : IAlertNotifier
    {
        private readonly ConcurrentQueue<AlertNotice> _notices = new();

        public IReadOnlyList<AlertNotice> Notices => [.. _notices];

        public Task PublishAsync(AlertNotice notice, CancellationToken cancellationToken = default)
        {
            _notices.Enqueue(notice);
            return Task.CompletedTask;
        }
    }
}
