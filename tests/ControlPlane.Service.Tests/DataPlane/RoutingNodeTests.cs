using ControlPlane.Service.DataPlane;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.DataPlane;

public sealed class RoutingNodeTests : IDisposable
{
    private const string QuotaFleet = """
        endpoints:
          - id: small
            provider: vllm
            model: llama
            model_version: llama-3.1-8b
            region: eu-west
            context_window: 32000
            price_per_1k: { input: 0, output: 0 }
            limits: { tpm: 0, rpm: 10 }
            owner_team: t
            on_call: t
          - id: spare
            provider: vllm
            model: llama
            model_version: llama-3.1-70b
            region: eu-west
            context_window: 32000
            price_per_1k: { input: 0, output: 0 }
            owner_team: t
            on_call: t
          - id: tok
            provider: vllm
            model: llama
            model_version: llama-3.1-8b
            region: eu-west
            context_window: 32000
            price_per_1k: { input: 0, output: 0 }
            limits: { tpm: 10000 }
            owner_team: t
            on_call: t
        classes:
          - name: tokens
            owner: t
            mode: queue_only
            primary: [tok]
            slo: { availability: 0.99 }
          - name: batch
            owner: t
            mode: queue_only
            primary: [small]
            slo: { availability: 0.99 }
          - name: chat
            owner: t
            mode: auto_fallback
            primary: [small]
            fallbacks: [spare]
            slo: { availability: 0.99 }
        """;

    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Healthy_fleet_routes_customer_chat_to_a_primary_with_the_approved_chain()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);

        var decision = node.Route("customer_chat");

        Assert.Equal("primary", decision.RouteReason);
        Assert.Contains(decision.EndpointId, new[] { "openai-gpt4o-us", "openai-gpt41-us" });
        Assert.Equal(new[] { "anthropic-sonnet-us", "google-gemini-pro-us" }, decision.Fallbacks.Where(f => !f.StartsWith("openai", StringComparison.Ordinal)));
        Assert.DoesNotContain("selfhosted-llama-eu", decision.Fallbacks);
        Assert.Equal(1_500, decision.Reservation.InputTokens + decision.Reservation.OutputTokens);
        Assert.False(string.IsNullOrEmpty(decision.DecisionId));
        Assert.True(decision.TimeoutMs > 0);
    }

    [Fact]
    public async Task Outage_on_both_primaries_opens_their_breakers_and_customer_chat_falls_back_but_legal_draft_holds()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var before = node.Node.TableVersion;

        node.Fail("openai-gpt4o-us", "customer_chat", 5);
        node.Fail("openai-gpt41-us", "customer_chat", 5);
        node.Fail("anthropic-sonnet-eu", "legal_draft", 5);
        await node.Node.FlushOutcomesAsync();

        var chat = node.Route("customer_chat");
        Assert.Equal("primary_breaker_open", chat.RouteReason);
        Assert.Equal("anthropic-sonnet-us", chat.EndpointId);
        Assert.Equal(new[] { "google-gemini-pro-us" }, chat.Fallbacks);

        var legal = node.Route("legal_draft");
        Assert.Equal("queue_only_hold", legal.RouteReason);
        Assert.Equal("", legal.EndpointId);
        Assert.Empty(legal.Fallbacks);
        Assert.True(node.Node.TableVersion > before);

        var details = await node.Grains.GetGrain<IProviderEndpointGrain>("openai-gpt4o-us").GetDetailsAsync();
        Assert.Equal(ControlPlane.Domain.Endpoints.BreakerState.Open, details.View.State);
        Assert.Equal(5, details.Health.Failures);
    }

    [Fact]
    public async Task A_breaker_opened_by_failures_stays_open_across_a_restart_until_its_cooldown_ends()
    {
        await using (var first = await ServiceNode.StartAsync(_time, _storage))
        {
            first.Fail("anthropic-sonnet-eu", "legal_draft", 5);
            await first.Node.FlushOutcomesAsync();
            Assert.Equal("queue_only_hold", first.Route("legal_draft").RouteReason);
        }

        await using var second = await ServiceNode.StartAsync(_time, _storage);
        Assert.Equal("queue_only_hold", second.Route("legal_draft").RouteReason);
        var details = await second.Grains.GetGrain<IProviderEndpointGrain>("anthropic-sonnet-eu").GetDetailsAsync();
        Assert.Equal(ControlPlane.Domain.Endpoints.BreakerState.Open, details.View.State);
        Assert.Equal(ControlPlane.Domain.Endpoints.BreakerReason.ConsecutiveFailures, details.View.Reason);
    }

    [Fact]
    public async Task A_forced_override_survives_a_restart_and_routing_respects_it_at_once()
    {
        await using (var first = await ServiceNode.StartAsync(_time, _storage))
        {
            await first.Admin.SetBreakerAsync("openai-gpt4o-us", new("open", "provider incident INC-7", null), TestActors.Named("alice"));
            await first.Admin.SetBreakerAsync("openai-gpt41-us", new("open", "provider incident INC-7", 3600), TestActors.Named("alice"));
            Assert.Equal("forced_override", first.Route("customer_chat").RouteReason);
        }

        await using var second = await ServiceNode.StartAsync(_time, _storage);
        var decision = second.Route("customer_chat");
        Assert.Equal("forced_override", decision.RouteReason);
        Assert.Equal("anthropic-sonnet-us", decision.EndpointId);

        var view = await second.Admin.GetEndpointAsync("openai-gpt41-us");
        Assert.Equal("force_open", view.Override!.Kind);
        Assert.Equal("alice", view.Override.Actor);
        Assert.Equal("provider incident INC-7", view.Override.Reason);
        Assert.Equal(_time.GetUtcNow().AddHours(1), view.Override.ExpiresAt);
    }

    [Fact]
    public async Task An_expired_override_stops_applying_without_any_call()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        await node.Admin.SetBreakerAsync("openai-gpt4o-us", new("open", "maintenance", 60), TestActors.Named("bob"));
        await node.Admin.SetBreakerAsync("openai-gpt41-us", new("open", "maintenance", 60), TestActors.Named("bob"));
        Assert.Equal("forced_override", node.Route("customer_chat").RouteReason);

        _time.Advance(TimeSpan.FromSeconds(60));

        // The grain's expiry timer publishes the change; the node applies the push.
        var reason = await WaitAsync(() => Task.FromResult(node.Route("customer_chat").RouteReason), r => r == "primary");
        Assert.Equal("primary", reason);
        var view = await node.Admin.GetEndpointAsync("openai-gpt4o-us");
        Assert.Null(view.Override);
        Assert.Contains(view.RecentEvents, e => e.Kind == "OverrideExpired");
    }

    [Fact]
    public async Task Route_spends_the_node_lease_and_holds_when_it_is_gone_until_the_grain_grants_more()
    {
        var fleet = ServiceNode.Fleet(QuotaFleet);
        await using var node = await ServiceNode.StartAsync(_time, _storage, fleet, o => o.LeaseSliceFraction = 0.5);

        // rpm 10, slice 0.5: the node holds 5 requests; the bucket keeps the other 5.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("small", node.Route("batch").EndpointId);
        }

        Assert.Equal("queue_only_hold", node.Route("batch").RouteReason);
        Assert.Equal("spare", node.Route("chat").EndpointId);
        Assert.Equal("primary_rate_limited", node.Route("chat").RouteReason);

        await node.Node.RenewLeasesAsync();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("small", node.Route("batch").EndpointId);
        }

        // The bucket is empty now: a renewal gets nothing until it refills (10 per minute).
        await node.Node.RenewLeasesAsync();
        Assert.Equal("queue_only_hold", node.Route("batch").RouteReason);
        var quota = (await node.Admin.GetEndpointAsync("small")).Quota;
        Assert.Equal(0, quota.AvailableRequests);

        _time.Advance(TimeSpan.FromSeconds(30));
        await node.Node.RenewLeasesAsync();
        Assert.Equal("small", node.Route("batch").EndpointId);
    }

    [Fact]
    public async Task Lease_holders_are_listed_and_unused_slices_are_returned_on_stop()
    {
        var fleet = ServiceNode.Fleet(QuotaFleet);
        await using var node = await ServiceNode.StartAsync(_time, _storage, fleet, o => o.LeaseSliceFraction = 0.5);
        var view = await node.Admin.GetEndpointAsync("small");
        var holder = Assert.Single(view.Leases);
        Assert.Equal("node-local", holder.NodeId);
        Assert.Equal(5, holder.Requests);
        Assert.Equal(5, view.Quota.OutstandingRequests);

        node.Route("batch");
        await node.Node.StopAsync(CancellationToken.None);

        var after = await node.Grains.GetGrain<IProviderEndpointGrain>("small").GetDetailsAsync();
        Assert.Empty(after.Leases);
        Assert.Equal(0, after.Quota.OutstandingRequests);
        Assert.Equal(9, after.Quota.AvailableRequests);
    }

    [Fact]
    public async Task Reported_actual_tokens_reconcile_the_reservation_and_come_back_to_the_bucket()
    {
        var fleet = ServiceNode.Fleet(QuotaFleet);
        await using var node = await ServiceNode.StartAsync(_time, _storage, fleet, o => o.LeaseSliceFraction = 0.5);

        var decision = node.Route("tokens", input: 1_000, maxOutput: 500);
        Assert.Equal("tok", decision.EndpointId);
        node.Node.Report(new Wire.Outcome
        {
            DecisionId = decision.DecisionId,
            EndpointId = "tok",
            WorkloadClass = "tokens",
            Status = Wire.OutcomeStatus.Success,
            InputTokens = 60,
            OutputTokens = 40,
        });
        await node.Node.StopAsync(CancellationToken.None);

        // 5,000 stayed in the bucket; of the node's 5,000-token slice only the 100 actually used are gone.
        var quota = (await node.Grains.GetGrain<IProviderEndpointGrain>("tok").GetDetailsAsync()).Quota;
        Assert.Equal(9_900, quota.AvailableTokens);
        Assert.Equal(0, quota.OutstandingTokens);
    }

    [Theory]
    [InlineData(-1, 10, "estimated_input_tokens")]
    [InlineData(10, -5, "max_output_tokens")]
    public async Task Negative_tokens_are_invalid_and_name_the_field(long input, long output, string field)
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var error = Assert.Throws<RoutingRequestException>(() => node.Route("customer_chat", input, output));
        Assert.Equal(RequestErrorKind.InvalidArgument, error.Kind);
        Assert.Equal(field, error.Field);
        Assert.StartsWith(field + ": must not be negative", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_class_is_not_found_and_missing_class_is_invalid()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        Assert.Equal(RequestErrorKind.NotFound, Assert.Throws<RoutingRequestException>(() => node.Route("poetry")).Kind);
        var missing = Assert.Throws<RoutingRequestException>(() => node.Route(""));
        Assert.Equal((RequestErrorKind.InvalidArgument, "workload_class"), (missing.Kind, missing.Field));
        var badCapability = Assert.Throws<RoutingRequestException>(() => node.Node.Route(
            new Wire.RouteRequest { WorkloadClass = "customer_chat", RequiredCapabilities = { "tools", "telepathy" } }, null));
        Assert.Equal("required_capabilities[1]", badCapability.Field);
    }

    [Theory]
    [InlineData("nope", "customer_chat", Wire.OutcomeStatus.Success, 0, "endpoint_id")]
    [InlineData("", "customer_chat", Wire.OutcomeStatus.Success, 0, "endpoint_id")]
    [InlineData("openai-gpt4o-us", "", Wire.OutcomeStatus.Success, 0, "workload_class")]
    [InlineData("openai-gpt4o-us", "customer_chat", Wire.OutcomeStatus.Unspecified, 0, "status")]
    [InlineData("openai-gpt4o-us", "customer_chat", Wire.OutcomeStatus.Success, -3, "output_tokens")]
    public async Task Invalid_outcomes_are_refused_naming_the_field_and_not_queued(string endpoint, string cls, Wire.OutcomeStatus status, long output, string field)
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var error = Assert.Throws<RoutingRequestException>(() => node.Node.Report(new Wire.Outcome
        {
            EndpointId = endpoint,
            WorkloadClass = cls,
            Status = status,
            OutputTokens = output,
        }));
        Assert.Equal(RequestErrorKind.InvalidArgument, error.Kind);
        Assert.Equal(field, error.Field);
        Assert.Equal(0, node.Node.QueuedOutcomes);
    }

    [Fact]
    public async Task Outcomes_are_flushed_on_the_interval_in_batches_and_feed_the_class_slo()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, configure: o => o.OutcomeFlushInterval = TimeSpan.FromMilliseconds(50));
        for (var i = 0; i < 20; i++)
        {
            node.Node.Report(new Wire.Outcome
            {
                EndpointId = "anthropic-sonnet-us",
                WorkloadClass = "customer_chat",
                Status = Wire.OutcomeStatus.Success,
                LatencyMs = 800,
                InputTokens = 100,
                OutputTokens = 50,
            });
        }

        Assert.Equal(20, node.Node.QueuedOutcomes);
        _time.Advance(TimeSpan.FromMilliseconds(50));
        var endpoint = await WaitAsync(async () => (await node.Admin.GetEndpointAsync("anthropic-sonnet-us")).Health, h => h.Requests == 20);
        Assert.Equal(20, endpoint.Successes);
        var cls = await node.Admin.GetClassAsync("customer_chat");
        Assert.Equal(20, cls.Availability.Events);
        Assert.Equal(1.0, cls.FallbackRate5m);
    }

    [Fact]
    public async Task The_routing_table_changes_version_and_shows_a_forced_breaker()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var version = node.Node.TableVersion;
        var changed = node.Node.WaitForTableChangeAsync(version, CancellationToken.None);
        Assert.False(changed.IsCompleted);

        await node.Admin.DrainAsync("google-gemini-pro-us", new("region migration", null), TestActors.Named("carol"));

        await changed;
        var table = node.Node.BuildTable([]);
        var gemini = table.Endpoints.Single(e => e.EndpointId == "google-gemini-pro-us");
        Assert.True(gemini.Drained);
        Assert.Equal("drain", gemini.BreakerReason);
        Assert.Equal(5, table.Classes.Count);
        Assert.Single(node.Node.BuildTable(["legal_draft"]).Classes);
    }

    private static Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done) => Eventually.WaitAsync(read, done, 2000);

    public void Dispose() => _storage.Dispose();
}
