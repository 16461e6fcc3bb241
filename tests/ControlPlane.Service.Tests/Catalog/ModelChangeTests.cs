using ControlPlane.Domain.Endpoints;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Catalog;
using ControlPlane.Service.DataPlane;
using ControlPlane.Service.Security;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.Catalog;

/// <summary>Silent model changes through the node's outcome path: an outcome's <c>returned_model_version</c> that differs
/// from the pinned version raises a model-change alert at the endpoint grain and, with <c>on_model_change: drain</c>,
/// drains the endpoint until an operator acknowledges.</summary>
public sealed class ModelChangeTests : IDisposable
{
    internal const string Fleet = """
        endpoints:
          - { id: prim, provider: openai, model: gpt, model_version: gpt-1-2025-01-01, region: us, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: ai-platform, on_call: "#ai-oncall", on_model_change: drain }
          - { id: back, provider: anthropic, model: claude, model_version: claude-1-2025-01-01, region: us, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: ai-platform, on_call: "#ai-oncall" }
          - { id: watch, provider: vllm, model: llama, model_version: llama-3-r1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, owner_team: ml-infra, on_call: ml-infra@pagerduty }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [prim], fallbacks: [back], slo: { availability: 0.99 } }
          - { name: batch, owner: t, mode: auto_fallback, primary: [watch], fallbacks: [back], slo: { availability: 0.99 } }
        """;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero));
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task A_different_returned_version_raises_a_model_change_alert_and_alert_only_keeps_routing()
    {
        var logs = new CapturedLogs();
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet),
            configureSilo: s => s.Services.AddSingleton<ILoggerProvider>(logs));
        var catalog = Catalog(node);

        Report(node, "watch", "batch", "llama-3-r1");
        Report(node, "watch", "batch", "");
        await node.Node.FlushOutcomesAsync();
        Assert.Null((await catalog.GetEntryAsync("watch")).ModelChange);

        var firstSeen = _time.GetUtcNow();
        Report(node, "watch", "batch", "llama-3-r2");
        await node.Node.FlushOutcomesAsync();
        _time.Advance(TimeSpan.FromSeconds(30));
        Report(node, "watch", "batch", "llama-3-r2");
        await node.Node.FlushOutcomesAsync();

        var entry = await catalog.GetEntryAsync("watch");
        Assert.Equal(("llama-3-r2", firstSeen, false, "llama-3-r1", false),
            (entry.ModelChange!.Observed, entry.ModelChange.Since, entry.ModelChange.Acknowledged, entry.ModelChange.Pinned, entry.ModelChange.Drained));
        var alert = Assert.Single(entry.Alerts);
        Assert.Equal(("model-change", "ml-infra", "ml-infra@pagerduty", firstSeen), (alert.Kind, alert.OwnerTeam, alert.OnCall, alert.Since));
        Assert.Contains("llama-3-r2", alert.Message, StringComparison.Ordinal);
        Assert.Contains(alert, (await node.Admin.GetFleetAsync()).Alerts);

        // on_model_change defaults to alert: no override, traffic stays on the primary.
        Assert.Null((await node.Admin.GetEndpointAsync("watch")).Override);
        Assert.Equal("watch", node.Route("batch").EndpointId);

        // Raised once (the repeat 30 s later is the same change), audited as the system, logged for the owner.
        var audit = Assert.Single(await node.Admin.GetAuditAsync(null));
        Assert.Equal(("endpoint.model_change", "watch", "system:model-change"), (audit.Action, audit.Target, audit.Actor.Principal));
        var warning = Assert.Single(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.StartsWith("Model change on endpoint watch", StringComparison.Ordinal));
        Assert.Contains("owner ml-infra, on-call ml-infra@pagerduty", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Versions_cycling_while_a_change_awaits_acknowledgement_raise_it_once()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet));

        // A provider (or a reporter) alternating versions: one alert, one audit entry until someone acknowledges.
        foreach (var version in new[] { "llama-3-r2", "llama-3-r3", "llama-3-r2", "llama-3-r4", "llama-3-r3" })
        {
            Report(node, "watch", "batch", version);
            await node.Node.FlushOutcomesAsync();
        }

        Assert.Equal("llama-3-r2", (await Catalog(node).GetEntryAsync("watch")).ModelChange!.Observed);
        Assert.Single(await node.Admin.GetAuditAsync(null), e => e.Action == "endpoint.model_change");

        // Acknowledged: the next different version is a new change.
        await Catalog(node).AcknowledgeModelChangeAsync("watch", "known rollout", TestActors.Named("olga", Roles.Operator));
        Report(node, "watch", "batch", "llama-3-r5");
        await node.Node.FlushOutcomesAsync();
        Assert.Equal("llama-3-r5", (await Catalog(node).GetEntryAsync("watch")).ModelChange!.Observed);
        Assert.Equal(2, (await node.Admin.GetAuditAsync(null)).Count(e => e.Action == "endpoint.model_change"));
    }

    [Fact]
    public async Task On_model_change_drain_drains_the_endpoint_until_an_operator_acknowledges()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet));
        var catalog = Catalog(node);
        Assert.Equal("prim", node.Route("chat").EndpointId);

        Report(node, "prim", "chat", "gpt-1-2025-06-01");
        await node.Node.FlushOutcomesAsync();

        // Drained by the system, persisted and pushed to this node before the flush returned.
        var drained = await node.Admin.GetEndpointAsync("prim");
        Assert.Equal(("drain", "system:model-change"), (drained.Override?.Kind, drained.Override?.Actor));
        Assert.Equal("back", node.Route("chat").EndpointId);
        Assert.True((await catalog.GetEntryAsync("prim")).ModelChange!.Drained);

        var acked = await catalog.AcknowledgeModelChangeAsync("prim", "the provider's new snapshot passed our evals", TestActors.Named("olga", Roles.Operator));

        Assert.True(acked.ModelChange!.Acknowledged);
        Assert.Equal("olga", acked.ModelChange.AcknowledgedBy);
        Assert.Empty(acked.Alerts);
        Assert.Null((await node.Admin.GetEndpointAsync("prim")).Override);
        Assert.Equal("prim", node.Route("chat").EndpointId);
        var ack = (await node.Admin.GetAuditAsync(null))[0];
        Assert.Equal(("endpoint.model_change_ack", "olga", "the provider's new snapshot passed our evals"), (ack.Action, ack.Actor.Principal, ack.Reason));
        Assert.Contains("drain cleared", ack.After, StringComparison.Ordinal);

        // A retried ack changes nothing; the acknowledged version reported again raises nothing.
        await catalog.AcknowledgeModelChangeAsync("prim", "retry", TestActors.Named("olga", Roles.Operator));
        Report(node, "prim", "chat", "gpt-1-2025-06-01");
        await node.Node.FlushOutcomesAsync();
        Assert.Equal(2, (await node.Admin.GetAuditAsync(null)).Count);
        Assert.Null((await node.Admin.GetEndpointAsync("prim")).Override);

        // Another version is a new change: drained again.
        Report(node, "prim", "chat", "gpt-1-2025-09-09");
        await node.Node.FlushOutcomesAsync();
        Assert.Equal("system:model-change", (await node.Admin.GetEndpointAsync("prim")).Override?.Actor);
        Assert.False((await catalog.GetEntryAsync("prim")).ModelChange!.Acknowledged);
    }

    [Fact]
    public async Task An_operators_own_drain_is_never_replaced_nor_cleared_by_the_ack()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet));
        var catalog = Catalog(node);
        var operatorActor = TestActors.Named("olga", Roles.Operator);

        // Drained by an operator first: the change raises its alert but leaves the operator's drain as it is.
        await node.Admin.DrainAsync("prim", new DrainCommand("provider maintenance", null), operatorActor);
        Report(node, "prim", "chat", "gpt-1-2025-06-01");
        await node.Node.FlushOutcomesAsync();
        Assert.Equal("olga", (await node.Admin.GetEndpointAsync("prim")).Override?.Actor);
        Assert.False((await catalog.GetEntryAsync("prim")).ModelChange!.Drained);

        await catalog.AcknowledgeModelChangeAsync("prim", "known", operatorActor);
        Assert.Equal(("drain", "olga"), ((await node.Admin.GetEndpointAsync("prim")).Override?.Kind, (await node.Admin.GetEndpointAsync("prim")).Override?.Actor));

        // The grain's drain, replaced by an operator's own drain, is not cleared by the ack either.
        await node.Admin.UndrainAsync("prim", new DrainCommand("maintenance over", null), operatorActor);
        Report(node, "prim", "chat", "gpt-1-2025-09-09");
        await node.Node.FlushOutcomesAsync();
        Assert.Equal("system:model-change", (await node.Admin.GetEndpointAsync("prim")).Override?.Actor);
        await node.Admin.DrainAsync("prim", new DrainCommand("keeping it out while we evaluate", null), operatorActor);
        await catalog.AcknowledgeModelChangeAsync("prim", "evaluated", operatorActor);
        Assert.Equal("olga", (await node.Admin.GetEndpointAsync("prim")).Override?.Actor);
        Assert.Equal("back", node.Route("chat").EndpointId);
    }

    [Fact]
    public async Task The_change_and_its_drain_survive_a_restart()
    {
        await using (var first = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet)))
        {
            Report(first, "prim", "chat", "gpt-1-2025-06-01");
            await first.Node.FlushOutcomesAsync();
        }

        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet));
        Assert.Equal("system:model-change", (await node.Admin.GetEndpointAsync("prim")).Override?.Actor);
        Assert.Equal("gpt-1-2025-06-01", (await Catalog(node).GetEntryAsync("prim")).ModelChange?.Observed);
        Assert.Equal("back", node.Route("chat").EndpointId);

        await Catalog(node).AcknowledgeModelChangeAsync("prim", "fine", TestActors.Named("olga", Roles.Operator));
        Assert.Equal("prim", node.Route("chat").EndpointId);
    }

    [Theory]
    [InlineData(129, "must be at most 128 characters (was 129)")]
    [InlineData(0, "must be printable ASCII without spaces (U+0020 at 3)")]
    public async Task A_returned_version_too_long_or_not_printable_is_refused_naming_the_field(int length, string message)
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet));
        var version = length > 0 ? new string('v', length) : "gpt 2";

        var error = Assert.Throws<RoutingRequestException>(() => Report(node, "prim", "chat", version));

        Assert.Equal($"returned_model_version: {message}", error.Message);
        Assert.Equal(0, node.Node.QueuedOutcomes);
        foreach (var bad in new[] { "gpt-2\u001b[2J", "gpt-\u202Eevil", "gpt\n2", "gpt-\u00e92" })
        {
            Assert.Equal("returned_model_version", Assert.Throws<RoutingRequestException>(() => Report(node, "prim", "chat", bad)).Field);
        }

        Report(node, "prim", "chat", new string('v', 128));
        Assert.Equal(1, node.Node.QueuedOutcomes);
    }

    [Fact]
    public async Task An_ack_without_a_change_is_a_conflict_and_bad_acks_change_nothing()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, ServiceNode.Fleet(Fleet));
        var catalog = Catalog(node);
        var actor = TestActors.Named("olga", Roles.Operator);

        Assert.Equal((AdminErrorKind.Conflict, "id"), Of(await Assert.ThrowsAsync<AdminException>(() => catalog.AcknowledgeModelChangeAsync("prim", "nothing", actor))));
        Assert.Equal((AdminErrorKind.NotFound, "id"), Of(await Assert.ThrowsAsync<AdminException>(() => catalog.AcknowledgeModelChangeAsync("nope", "x", actor))));

        Report(node, "prim", "chat", "gpt-1-2025-06-01");
        await node.Node.FlushOutcomesAsync();
        Assert.Equal((AdminErrorKind.Invalid, "reason"), Of(await Assert.ThrowsAsync<AdminException>(() => catalog.AcknowledgeModelChangeAsync("prim", " ", actor))));
        Assert.Equal((AdminErrorKind.Invalid, "reason"), Of(await Assert.ThrowsAsync<AdminException>(() => catalog.AcknowledgeModelChangeAsync("prim", "ok\u001b[2J", actor))));
        Assert.False((await catalog.GetEntryAsync("prim")).ModelChange!.Acknowledged);
        Assert.Equal("system:model-change", (await node.Admin.GetEndpointAsync("prim")).Override?.Actor);
        Assert.Single(await node.Admin.GetAuditAsync(null));
    }

    public void Dispose() => _storage.Dispose();

    internal static void Report(ServiceNode node, string endpoint, string workloadClass, string returnedModelVersion) =>
        node.Node.Report(new Wire.Outcome
        {
            EndpointId = endpoint,
            WorkloadClass = workloadClass,
            Status = Wire.OutcomeStatus.Success,
            LatencyMs = 100,
            InputTokens = 10,
            OutputTokens = 10,
            ReturnedModelVersion = returnedModelVersion,
        });

    private static CatalogOperations Catalog(ServiceNode node) => node.Services.GetRequiredService<CatalogOperations>();

    private static (AdminErrorKind, string) Of(AdminException error) => (error.Kind, error.Field);
}
