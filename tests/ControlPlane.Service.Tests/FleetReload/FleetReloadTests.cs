using ControlPlane.Fleet;
using ControlPlane.Service.FleetReload;
using ControlPlane.Service.Security;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.FleetReload;

/// <summary>Reloading the fleet file: validated completely, refused whole when it changes what a reload must not
/// (policies, referenced endpoints), otherwise applied as one versioned change the node's quota, prices, routing and
/// the endpoint grains follow; a restart with the older file keeps the reloaded generation.</summary>
public sealed class FleetReloadTests : IDisposable
{
    private const string Fleet = """
        fleet: { name: test, version: "1" }
        endpoints:
          - { id: small, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, limits: { tpm: 0, rpm: 4 }, owner_team: t, on_call: t }
          - { id: spare, provider: vllm, model: llama, model_version: v2, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [small], fallbacks: [spare], slo: { availability: 0.99 } }
        """;

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();
    private readonly string _file;

    public FleetReloadTests()
    {
        _file = Path.Combine(_storage.Directory, "fleet.yaml");
        File.WriteAllText(_file, Fleet);
    }

    [Fact]
    public async Task Raising_an_endpoint_limit_by_reload_gives_the_node_a_lease_from_the_new_capacity()
    {
        await using var node = await StartAsync();
        // Spend the 4 requests a minute: the class falls back while the clock stands still.
        var routed = Enumerable.Range(0, 20).Select(_ => node.Route("chat").EndpointId).ToList();
        Assert.InRange(routed.Count(e => e == "small"), 1, 4);
        Assert.Equal("spare", routed[^1]);

        var outcome = await Reload(node, Fleet.Replace("rpm: 4", "rpm: 100000", StringComparison.Ordinal));

        Assert.Equal(1, outcome.Version);
        Assert.Contains("endpoints.small.limits.rpm: 4 -> 100000", outcome.Changes);
        Assert.Equal(100_000, node.Node.Snapshot.EndpointAt(0).RequestsPerMinute);
        Assert.Equal(100_000, (await node.Admin.GetEndpointAsync("small")).Quota.RequestsPerMinute);
        await node.Node.RenewLeasesAsync(force: true);
        Assert.Equal("small", node.Route("chat").EndpointId);
    }

    [Fact]
    public async Task An_endpoint_that_becomes_limited_pays_from_a_lease_and_one_that_becomes_unlimited_stops_needing_one()
    {
        await using var node = await StartAsync();
        // small: rpm 4 -> unlimited; spare: unlimited -> rpm 2.
        var changed = Fleet.Replace("limits: { tpm: 0, rpm: 4 }, owner_team", "owner_team", StringComparison.Ordinal)
            .Replace("model_version: v2, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team",
                "model_version: v2, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, limits: { rpm: 2 }, owner_team", StringComparison.Ordinal);

        var outcome = await Reload(node, changed);

        Assert.Contains("endpoints.small.limits.rpm: 4 -> 0", outcome.Changes);
        Assert.Contains("endpoints.spare.limits.rpm: 0 -> 2", outcome.Changes);
        // small is unlimited now: far more than 4 requests go to it with the clock standing still.
        Assert.All(Enumerable.Range(0, 30), _ => Assert.Equal("small", node.Route("chat").EndpointId));
        // spare is limited now: a drain of small sends chat to spare only as far as spare's lease pays.
        await node.Admin.DrainAsync("small", new ControlPlane.Service.Admin.DrainCommand("test", null), TestActors.Named("ops"));
        await node.Node.RenewLeasesAsync(force: true);
        var routed = Enumerable.Range(0, 10).Select(_ => node.Route("chat").EndpointId).ToList();
        Assert.InRange(routed.Count(e => e == "spare"), 1, 2);
    }

    [Fact]
    public async Task Adding_endpoints_or_classes_and_removing_an_unreferenced_endpoint_are_refused_with_what_to_do()
    {
        await using var node = await StartAsync();
        var added = Fleet.Replace("classes:", """
              - { id: extra, provider: vllm, model: llama, model_version: v9, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: t, on_call: t }
            classes:
              - { name: batch, owner: t, mode: auto_fallback, primary: [spare], slo: { availability: 0.99 } }
            """, StringComparison.Ordinal);

        var refused = await Assert.ThrowsAsync<FleetReloadRefusedException>(() => Reload(node, added));

        Assert.Contains(refused.Problems, p => p.Field == "endpoints.extra" && p.Message.Contains("restart", StringComparison.Ordinal));
        Assert.Contains(refused.Problems, p => p.Field == "classes.batch" && p.Message.Contains("restart", StringComparison.Ordinal));
        Assert.Equal(2, node.Node.Snapshot.EndpointCount);
    }

    [Fact]
    public async Task Endpoint_attributes_and_fleet_metadata_apply_on_the_node_and_the_admin_views()
    {
        await using var node = await StartAsync();
        var changed = Fleet.Replace("version: \"1\"", "version: \"2\"", StringComparison.Ordinal)
            .Replace("model_version: v2, region: eu, context_window: 32000", "model_version: v3, region: eu, context_window: 64000", StringComparison.Ordinal)
            .Replace("price_per_1k: { input: 0, output: 0 }, owner_team: t", "price_per_1k: { input: 1.5, output: 2 }, owner_team: infra", StringComparison.Ordinal);

        var outcome = await Reload(node, changed);

        Assert.Contains("fleet.version: 1 -> 2", outcome.Changes);
        Assert.Contains("endpoints.spare.context_window: 32000 -> 64000", outcome.Changes);
        Assert.Contains("endpoints.spare.owner_team: t -> infra", outcome.Changes);
        var spare = node.Node.Snapshot.EndpointAt(1);
        Assert.Equal((64_000, "v3", 1.5m), (spare.ContextWindow, spare.ModelVersion, spare.PricePer1kInput));
        Assert.Equal("v3", (await node.Admin.GetEndpointAsync("spare")).ModelVersion);
        Assert.Equal("2", (await node.Admin.GetFleetAsync()).Version);
        var audit = (await node.Admin.GetAuditAsync(10)).First(e => e.Action == "fleet.reload");
        Assert.Equal("ops", audit.Actor.Principal);
        Assert.StartsWith("generation 0", audit.Before, StringComparison.Ordinal);
        Assert.Contains("generation 1", audit.After, StringComparison.Ordinal);
        Assert.Contains("endpoints.spare.context_window", audit.After, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reload_that_changes_a_class_policy_is_refused_naming_the_class_and_changes_nothing()
    {
        await using var node = await StartAsync();
        var changed = Fleet.Replace("primary: [small], fallbacks: [spare]", "primary: [spare], fallbacks: [small]", StringComparison.Ordinal)
            .Replace("rpm: 4", "rpm: 8", StringComparison.Ordinal);

        var refused = await Assert.ThrowsAsync<FleetReloadRefusedException>(() => Reload(node, changed));

        var problem = Assert.Single(refused.Problems);
        Assert.Equal("classes.chat", problem.Field);
        Assert.Contains("POST /admin/v1/classes/chat/proposals", problem.Message, StringComparison.Ordinal);
        // Nothing changed: not the limit that came with it, not the generation.
        Assert.Equal(4, node.Node.Snapshot.EndpointAt(0).RequestsPerMinute);
        Assert.Equal(0, await node.Grains.GetGrain<IFleetGenerationGrain>(FleetGenerationGrain.Key).GetNumberAsync());
        var audit = (await node.Admin.GetAuditAsync(10)).Single(e => e.Action.StartsWith("fleet.", StringComparison.Ordinal));
        Assert.Equal("fleet.reload.refused", audit.Action);
        Assert.Contains("classes.chat", audit.After, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Removing_an_endpoint_a_class_references_is_refused_and_an_invalid_file_lists_every_error()
    {
        await using var node = await StartAsync();
        var withoutSpare = string.Join('\n', Fleet.Split('\n').Where(l => !l.Contains("id: spare", StringComparison.Ordinal)))
            .Replace("primary: [small], fallbacks: [spare]", "primary: [small]", StringComparison.Ordinal);
        var removed = await Assert.ThrowsAsync<FleetReloadRefusedException>(() => Reload(node, withoutSpare));
        Assert.Contains(removed.Problems, p => p.Field == "endpoints.spare" && p.Message.Contains("class chat", StringComparison.Ordinal));

        var invalid = Fleet.Replace("rpm: 4", "rpm: -4", StringComparison.Ordinal).Replace("context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team", "context_window: 0, price_per_1k: { input: 0, output: 0 }, owner_team", StringComparison.Ordinal);
        var errors = await Assert.ThrowsAsync<FleetReloadRefusedException>(() => Reload(node, invalid));
        Assert.Contains(errors.Problems, p => p.Field == "endpoints.small.limits.rpm");
        Assert.Contains(errors.Problems, p => p.Field == "endpoints.spare.context_window");
        Assert.All(errors.Problems, p => Assert.Contains(_file + ":", p.Message, StringComparison.Ordinal));
        Assert.Equal(0, node.Services.GetRequiredService<FleetCatalog>().Generation);
    }

    [Fact]
    public async Task A_repeated_reload_of_the_same_file_is_one_change()
    {
        await using var node = await StartAsync();
        var changed = Fleet.Replace("rpm: 4", "rpm: 9", StringComparison.Ordinal);
        Assert.Equal(1, (await Reload(node, changed)).Version);

        var again = await Reload(node, changed);

        Assert.Equal(1, again.Version);
        Assert.Empty(again.Changes);
        Assert.Single(await node.Admin.GetAuditAsync(10), e => e.Action == "fleet.reload");
    }

    [Fact]
    public async Task A_node_restarted_with_the_older_file_runs_the_reloaded_generation()
    {
        var changed = Fleet.Replace("rpm: 4", "rpm: 100000", StringComparison.Ordinal);
        await using (var node = await StartAsync())
        {
            await Reload(node, changed);
        }

        // The restart loads the original (older) file.
        await using var restarted = await StartAsync();

        var catalog = restarted.Services.GetRequiredService<FleetCatalog>();
        Assert.Equal(1, catalog.Generation);
        Assert.Equal(100_000, restarted.Node.Snapshot.EndpointAt(0).RequestsPerMinute);
        Assert.Equal(100_000, (await restarted.Admin.GetEndpointAsync("small")).Quota.RequestsPerMinute);
        Assert.Equal(4, catalog.StartFleet.Endpoints[0].Descriptor.RequestsPerMinute);
    }

    [Fact]
    public async Task A_reload_needs_a_reason()
    {
        await using var node = await StartAsync();
        var reloader = node.Services.GetRequiredService<FleetReloader>();

        var error = await Assert.ThrowsAsync<ControlPlane.Service.Admin.AdminException>(() => reloader.ReloadFileAsync(_file, TestActors.Named("ops", Roles.Admin), " "));

        Assert.Equal("reason", error.Field);
    }

    [Fact]
    public async Task A_reload_and_a_refused_reload_while_the_trail_cannot_write_are_acknowledged_with_their_entries_staged_and_delivered_later()
    {
        var probe = new StorageProbe();
        await using var node = await ServiceNode.StartAsync(_time, _storage, FleetLoader.LoadFile(WriteOriginal()), probe: probe);
        probe.FailWrites = id => id.Type.ToString() == "audit";
        var changed = Fleet.Replace("rpm: 4", "rpm: 100000", StringComparison.Ordinal);

        Assert.Equal(1, (await Reload(node, changed)).Version);
        // A retry finds no change; the entry is kept in the generation's stored state, not lost.
        Assert.Empty((await Reload(node, changed)).Changes);
        await Assert.ThrowsAsync<FleetReloadRefusedException>(() => Reload(node, changed.Replace("rpm: 100000", "rpm: -4", StringComparison.Ordinal)));

        var (stored, _, _) = await probe.ReadStoredAsync<FleetGenerationState>("fleetgen", GrainId.Create("fleetgen", FleetGenerationGrain.Key));
        Assert.Equal(1, stored.Current!.Number);
        Assert.Equal(["fleet.reload", "fleet.reload.refused"], stored.AuditOutbox!.Pending.Select(e => e.Action));
        Assert.Empty(await node.Admin.GetAuditAsync(null));

        probe.FailWrites = null;
        var audit = await Eventually.WaitAsync(async () =>
        {
            _time.Advance(ControlPlane.Service.Audit.GrainAuditOutbox.RetryPeriod);
            return await node.Admin.GetAuditAsync(null);
        }, a => a.Count >= 2, attempts: 50);
        Assert.Equal(["fleet.reload.refused", "fleet.reload"], audit.Select(e => e.Action));
        Assert.Contains("endpoints.small.limits.rpm: 4 -> 100000", audit[1].After, StringComparison.Ordinal);
        Assert.True((await node.Admin.VerifyAuditAsync()).Ok);
    }

    public void Dispose() => _storage.Dispose();

    private Task<ServiceNode> StartAsync() => ServiceNode.StartAsync(_time, _storage, FleetLoader.LoadFile(WriteOriginal()));

    private string WriteOriginal()
    {
        File.WriteAllText(_file, Fleet);
        return _file;
    }

    private async Task<FleetReloadOutcome> Reload(ServiceNode node, string yaml)
    {
        await File.WriteAllTextAsync(_file, yaml);
        return await node.Services.GetRequiredService<FleetReloader>().ReloadAsync(TestActors.Named("ops", Roles.Admin), "new contract");
    }
}
