using ControlPlane.Domain.Slo;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Tests.Grains;

/// <summary>A class's availability counts requests, not attempts: a request that failed on its primary and succeeded
/// on an approved fallback is one available request ("served by fallback").</summary>
public sealed class RequestAvailabilityTests : IDisposable
{
    private const int Requests = 20;
    private static readonly string[] ChatPrimaries = ["openai-gpt4o-us", "openai-gpt41-us"];
    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Twenty_requests_recovered_by_a_fallback_do_not_page_but_a_genuinely_failing_class_still_does()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage, configure: o => o.AcceptUnroutedOutcomes = false);
        for (var i = 0; i < Requests; i++)
        {
            // customer_chat: the primary fails, the approved fallback serves the request.
            var first = Route(node, "customer_chat", $"chat-{i}", attempt: 0);
            Assert.Contains(first.EndpointId, ChatPrimaries);
            node.Node.Report(Outcome(first, "customer_chat", Wire.OutcomeStatus.ServerError));
            var retry = Route(node, "customer_chat", $"chat-{i}", attempt: 1, ChatPrimaries);
            Assert.Equal("anthropic-sonnet-us", retry.EndpointId);
            node.Node.Report(Outcome(retry, "customer_chat", Wire.OutcomeStatus.Success));

            // legal_draft (queue only): two attempts on its primary, both fail; the request failed.
            for (var attempt = 0; attempt < 2; attempt++)
            {
                var legal = Route(node, "legal_draft", $"legal-{i}", attempt);
                node.Node.Report(Outcome(legal, "legal_draft", Wire.OutcomeStatus.Timeout));
            }
        }

        await node.Node.FlushOutcomesAsync();
        var chat = node.Grains.GetGrain<IWorkloadClassGrain>("customer_chat");
        var legalDraft = node.Grains.GetGrain<IWorkloadClassGrain>("legal_draft");
        var recovered = await chat.GetDetailsAsync();
        Assert.Equal((Requests, 0L), (recovered.Availability.Events, recovered.Availability.BadEvents));
        Assert.Equal(Requests, recovered.ServedByFallback);
        Assert.Equal(Requests, (await node.Admin.GetClassAsync("customer_chat")).ServedByFallback);
        // The failed requests wait for a later attempt until the grace ends (2 min by default).
        Assert.Equal(0, (await legalDraft.GetDetailsAsync()).Availability.Events);

        // The classes evaluate their alerts every minute (WorkloadSlo.EvaluateAlerts).
        for (var minute = 0; minute < 3; minute++)
        {
            _time.Advance(TimeSpan.FromMinutes(1));
        }

        var failing = await WaitAsync(legalDraft, d => d.Alerts.Any(a => a.Name.StartsWith("slo-availability", StringComparison.Ordinal)));
        Assert.Equal((Requests, (long)Requests), (failing.Availability.Events, failing.Availability.BadEvents));
        Assert.Contains(failing.Alerts, a => a.Name == "slo-availability-burn-1h-5m" && a.Severity == AlertSeverity.Page);
        Assert.Equal(0, failing.ServedByFallback);

        // Evaluated too (every request went to a fallback, which is what the fallback-activation alert is for), yet
        // no availability page: nobody was failed.
        recovered = await WaitAsync(chat, d => d.Alerts.Count > 0);
        Assert.DoesNotContain(recovered.Alerts, a => a.Name.StartsWith("slo-availability", StringComparison.Ordinal));
        Assert.Contains(recovered.Alerts, a => a.Name == "fallback-activation-5m");
        Assert.Equal((Requests, 0L), (recovered.Availability.Events, recovered.Availability.BadEvents));
    }

    [Fact]
    public async Task A_late_attempt_of_a_counted_request_changes_nothing_and_unrouted_outcomes_correlate_by_request_id()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var first = Route(node, "customer_chat", "late-1", attempt: 0);
        var retry = Route(node, "customer_chat", "late-1", attempt: 1, ChatPrimaries);
        // The fallback's success arrives first; the primary's failure later (another node's flush, say).
        node.Node.Report(Outcome(retry, "customer_chat", Wire.OutcomeStatus.Success));
        await node.Node.FlushOutcomesAsync();
        node.Node.Report(Outcome(first, "customer_chat", Wire.OutcomeStatus.ServerError));
        // A proxy that routed on its own table: no decision ids, its own request id and attempt numbers.
        node.Node.Report(Unrouted("openai-gpt4o-us", Wire.OutcomeStatus.RateLimited, "proxy-1", 0));
        node.Node.Report(Unrouted("anthropic-sonnet-us", Wire.OutcomeStatus.Success, "proxy-1", 1));
        await node.Node.FlushOutcomesAsync();

        _time.Advance(TimeSpan.FromMinutes(3));
        var details = await node.Grains.GetGrain<IWorkloadClassGrain>("customer_chat").GetDetailsAsync();

        Assert.Equal((2L, 0L), (details.Availability.Events, details.Availability.BadEvents));
        Assert.Equal(1, details.ServedByFallback);
    }

    public void Dispose() => _storage.Dispose();

    private static Wire.RouteDecision Route(ServiceNode node, string workloadClass, string requestId, int attempt, params string[] exclude)
    {
        var request = new Wire.RouteRequest { WorkloadClass = workloadClass, EstimatedInputTokens = 100, MaxOutputTokens = 100, RequestId = requestId, Attempt = attempt };
        request.ExcludeEndpointIds.AddRange(exclude);
        return node.Node.Route(request, null);
    }

    private static Wire.Outcome Outcome(Wire.RouteDecision decision, string workloadClass, Wire.OutcomeStatus status) => new()
    {
        DecisionId = decision.DecisionId,
        EndpointId = decision.EndpointId,
        WorkloadClass = workloadClass,
        Status = status,
        LatencyMs = 500,
    };

    private static Wire.Outcome Unrouted(string endpointId, Wire.OutcomeStatus status, string requestId, int attempt) => new()
    {
        EndpointId = endpointId,
        WorkloadClass = "customer_chat",
        Status = status,
        LatencyMs = 500,
        RequestId = requestId,
        Attempt = attempt,
    };

    private static async Task<ClassDetails> WaitAsync(IWorkloadClassGrain grain, Func<ClassDetails, bool> done)
    {
        // Grain timers run on the fake clock but on the silo's scheduler: wait for their effect, bounded.
        var details = await grain.GetDetailsAsync();
        for (var i = 0; i < 500 && !done(details); i++)
        {
            await Task.Delay(20);
            details = await grain.GetDetailsAsync();
        }

        return details;
    }
}
