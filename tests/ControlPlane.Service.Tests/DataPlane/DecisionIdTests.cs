using System.Security.Cryptography;
using ControlPlane.Domain.Routing;
using ControlPlane.Service.DataPlane;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.DataPlane;

/// <summary>Outcomes must belong to a decision of this cluster: decision ids carry a MAC any node verifies, bound to
/// the decision's endpoint and class; duplicates count once; outcomes without a decision need the switch.</summary>
public sealed class DecisionIdTests(ITestOutputHelper output) : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task An_outcome_whose_endpoint_or_class_differs_from_its_decision_or_whose_id_is_forged_is_refused()
    {
        await using var node = await StartAsync(_storage);
        var decision = Route(node, "customer_chat", "req-1");
        var other = decision.Fallbacks[^1];

        // The decision's own endpoint and class verify.
        node.Node.Report(Success(decision.DecisionId, decision.EndpointId, "customer_chat"));
        foreach (var (id, endpoint, workloadClass) in new[]
        {
            (decision.DecisionId, other, "customer_chat"),
            (decision.DecisionId, decision.EndpointId, "internal_copilot"),
            (Tamper(decision.DecisionId), decision.EndpointId, "customer_chat"),
            (decision.DecisionId[..40], decision.EndpointId, "customer_chat"),
            (new string('A', 60), decision.EndpointId, "customer_chat"),
            (new string('A', 64), decision.EndpointId, "customer_chat"),
            (new string('!', 60), decision.EndpointId, "customer_chat"),
            (new string('A', 100_000), decision.EndpointId, "customer_chat"),
        })
        {
            var error = Assert.Throws<RoutingRequestException>(() => node.Node.Report(Success(id, endpoint, workloadClass)));
            Assert.Equal(("decision_id", RequestErrorKind.InvalidArgument), (error.Field, error.Kind));
        }

        Assert.Equal(1, node.Node.QueuedOutcomes);
    }

    [Fact]
    public async Task A_decision_of_another_cluster_is_refused()
    {
        using var otherStorage = new TestStorage();
        await using var other = await StartAsync(otherStorage);
        var foreign = Route(other, "customer_chat", "req-1");
        await other.StopAsync();
        await using var node = await StartAsync(_storage);

        var error = Assert.Throws<RoutingRequestException>(() => node.Node.Report(Success(foreign.DecisionId, foreign.EndpointId, "customer_chat")));

        Assert.Equal("decision_id", error.Field);
    }

    [Fact]
    public async Task Any_node_of_the_cluster_verifies_a_decision_and_a_duplicate_reported_to_two_nodes_counts_once()
    {
        await using var node = await StartAsync(_storage);
        await using var second = await StartSecondNodeAsync(node, "node-b");
        var decision = Route(node, "customer_chat", "req-1");

        // Reported to the node that did not make the decision, then again to both (a client retrying after a lost ack).
        second.Report(Success(decision.DecisionId, decision.EndpointId, "customer_chat"));
        second.Report(Success(decision.DecisionId, decision.EndpointId, "customer_chat"));
        node.Node.Report(Success(decision.DecisionId, decision.EndpointId, "customer_chat"));
        await second.FlushOutcomesAsync();
        await node.Node.FlushOutcomesAsync();

        var endpoint = await node.Grains.GetGrain<IProviderEndpointGrain>(decision.EndpointId).GetDetailsAsync();
        Assert.Equal(1, endpoint.Health.Requests);
        var workloadClass = await node.Grains.GetGrain<IWorkloadClassGrain>("customer_chat").GetDetailsAsync();
        Assert.Equal(1, workloadClass.Availability.Events);
    }

    [Fact]
    public async Task A_node_drops_a_repeat_of_its_own_decision()
    {
        await using var node = await StartAsync(_storage);
        var decision = Route(node, "customer_chat", "req-1");

        node.Node.Report(Success(decision.DecisionId, decision.EndpointId, "customer_chat"));
        node.Node.Report(Success(decision.DecisionId, decision.EndpointId, "customer_chat"));

        Assert.Equal(1, node.Node.QueuedOutcomes);
    }

    [Fact]
    public async Task Outcomes_without_a_decision_are_refused_unless_the_switch_allows_them()
    {
        await using (var strict = await StartAsync(_storage))
        {
            var error = Assert.Throws<RoutingRequestException>(() => strict.Node.Report(Success("", "openai-gpt4o-us", "customer_chat")));
            Assert.Equal(("decision_id", RequestErrorKind.InvalidArgument), (error.Field, error.Kind));
            Assert.Equal(0, strict.Node.QueuedOutcomes);
        }

        await using var allowing = await StartAsync(_storage, accept: true);
        allowing.Node.Report(Success("", "openai-gpt4o-us", "customer_chat"));
        Assert.Equal(1, allowing.Node.QueuedOutcomes);
    }

    [Fact]
    public async Task An_outcome_past_the_decision_lifetime_or_naming_another_request_is_refused()
    {
        await using var node = await StartAsync(_storage);
        var decision = Route(node, "customer_chat", "req-1");

        var other = Success(decision.DecisionId, decision.EndpointId, "customer_chat");
        other.RequestId = "req-2";
        Assert.Equal("request_id", Assert.Throws<RoutingRequestException>(() => node.Node.Report(other)).Field);
        var same = Success(decision.DecisionId, decision.EndpointId, "customer_chat");
        same.RequestId = "req-1";
        node.Node.Report(same);

        var late = Route(node, "customer_chat", "req-3");
        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var error = Assert.Throws<RoutingRequestException>(() => node.Node.Report(Success(late.DecisionId, late.EndpointId, "customer_chat")));
        Assert.Equal("decision_id", error.Field);
        Assert.Contains("expired", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_generated_cluster_key_survives_a_restart_and_a_configured_key_is_shared_without_storage()
    {
        Wire.RouteDecision decision;
        await using (var first = await StartAsync(_storage))
        {
            decision = Route(first, "customer_chat", "req-1");
        }

        await using (var restarted = await StartAsync(_storage))
        {
            restarted.Node.Report(Success(decision.DecisionId, decision.EndpointId, "customer_chat"));
            Assert.Equal(1, restarted.Node.QueuedOutcomes);
        }

        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        using var storageB = new TestStorage();
        using var storageC = new TestStorage();
        await using var b = await StartAsync(storageB, configure: o => o.DecisionKey = key);
        var signed = Route(b, "customer_chat", "req-9");
        await b.StopAsync();
        await using var c = await StartAsync(storageC, configure: o => o.DecisionKey = key);
        c.Node.Report(Success(signed.DecisionId, signed.EndpointId, "customer_chat"));
        Assert.Equal(1, c.Node.QueuedOutcomes);
    }

    [Fact]
    public async Task Request_ids_and_attempts_from_the_wire_are_bounded_before_they_are_hashed()
    {
        await using var node = await StartAsync(_storage, accept: true);
        var longId = new string('r', 257);

        var route = Assert.Throws<RoutingRequestException>(() => node.Node.Route(
            new Wire.RouteRequest { WorkloadClass = "customer_chat", RequestId = longId }, null));
        Assert.Equal("request_id", route.Field);
        Assert.Contains("at most 256 characters", route.Message, StringComparison.Ordinal);
        foreach (var (requestId, attempt, field) in new[] { (longId, 0, "request_id"), ("ok", -1, "attempt"), ("ok", 1_001, "attempt") })
        {
            var outcome = Success("", "openai-gpt4o-us", "customer_chat");
            outcome.RequestId = requestId;
            outcome.Attempt = attempt;
            Assert.Equal(field, Assert.Throws<RoutingRequestException>(() => node.Node.Report(outcome)).Field);
        }

        Assert.Equal(0, node.Node.QueuedOutcomes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("c2hvcnQ=")]
    public void A_configured_key_that_is_not_32_to_64_bytes_of_base64_is_refused(string key)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new ControlPlaneOptions { DecisionKey = key }.Validate());
        Assert.Equal(nameof(ControlPlaneOptions.DecisionKey), error.ParamName);
        Assert.DoesNotContain(key.Length == 0 ? "\0" : key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Issuing_an_id_allocates_only_the_string_and_its_claim_reads_back()
    {
        var ids = new DecisionIds(RandomNumberGenerator.GetBytes(32));
        var at = DateTimeOffset.UnixEpoch.AddDays(20_000);
        for (var i = 0; i < 1_000; i++)
        {
            ids.Issue(7, i + 1, 42, 0, at, "openai-gpt4o-us", "customer_chat", RouteReason.PrimaryBreakerOpen, 3);
        }

        const int calls = 20_000;
        var before = GC.GetAllocatedBytesForCurrentThread();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < calls; i++)
        {
            ids.Issue(7, i + 1, 42, 0, at, "openai-gpt4o-us", "customer_chat", RouteReason.PrimaryBreakerOpen, 3);
        }

        watch.Stop();
        var perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)calls;
        // One 64-character string (152 B with its header); the rest of the call lives on the stack.
        Assert.InRange(perCall, 0, 153);
        Assert.True(ids.TryVerify(ids.Issue(7, 1, 42, 3, at, "e", "c", RouteReason.Drained, 12), "e", "c", out var claim));
        Assert.Equal((7u, 1L, 42L, 3, at.ToUnixTimeMilliseconds()), (claim.NodeTag, claim.Number, claim.RequestKey, claim.Attempt, claim.IssuedAtUnixMs));
        Assert.Equal((RouteReason.Drained, 12), (claim.Reason, claim.PrimaryIndex));
        // For scale on a shared machine: one SHA-256 of 64 bytes, same loop.
        Span<byte> digest = stackalloc byte[32];
        var block = new byte[64];
        var sha = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < calls; i++)
        {
            SHA256.HashData(block, digest);
        }

        output.WriteLine($"DecisionIds.Issue: {watch.Elapsed.TotalMicroseconds / calls:F2} us and {perCall:F0} B per call; SHA256.HashData(64 B): {sha.Elapsed.TotalMicroseconds / calls:F2} us");
    }

    public void Dispose() => _storage.Dispose();

    private Task<ServiceNode> StartAsync(TestStorage storage, bool accept = false, Action<ControlPlaneOptions>? configure = null) =>
        ServiceNode.StartAsync(_time, storage, configure: o =>
        {
            o.AcceptUnroutedOutcomes = accept;
            configure?.Invoke(o);
        });

    // A second routing node on the same silo: another node of the same cluster (its own tag and counter), as a
    // data-plane node would be.
    private static async Task<RoutingNode> StartSecondNodeAsync(ServiceNode host, string nodeId)
    {
        var options = Options.Create(new ControlPlaneOptions { NodeId = nodeId });
        var node = ActivatorUtilities.CreateInstance<RoutingNode>(host.Services, options, host.Services.GetRequiredService<ILogger<RoutingNode>>());
        await node.StartAsync(CancellationToken.None);
        return node;
    }

    private static Wire.RouteDecision Route(ServiceNode node, string workloadClass, string requestId, int attempt = 0, params string[] exclude)
    {
        var request = new Wire.RouteRequest { WorkloadClass = workloadClass, EstimatedInputTokens = 100, MaxOutputTokens = 100, RequestId = requestId, Attempt = attempt };
        request.ExcludeEndpointIds.AddRange(exclude);
        var decision = node.Node.Route(request, null);
        Assert.NotEqual("", decision.EndpointId);
        return decision;
    }

    private static Wire.Outcome Success(string decisionId, string endpointId, string workloadClass) => new()
    {
        DecisionId = decisionId,
        EndpointId = endpointId,
        WorkloadClass = workloadClass,
        Status = Wire.OutcomeStatus.Success,
        LatencyMs = 300,
    };

    private static string Tamper(string id)
    {
        var chars = id.ToCharArray();
        // A character of the decision number.
        chars[12] = chars[12] == 'A' ? 'B' : 'A';
        return new string(chars);
    }
}
