using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;
using ControlPlane.Domain.Routing;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Domain.Tests.Routing;

/// <summary>A small catalog with health views, compiled into a snapshot, and a router over it.</summary>
internal sealed class Fleet
{
    private readonly List<EndpointDescriptor> _endpoints = [];
    private readonly List<EndpointHealthView> _health = [];

    public FakeTimeProvider Time { get; } = new();

    public DateTimeOffset Now => Time.GetUtcNow();

    public Fleet Add(string id, EndpointHealthView? health = null, Capabilities caps = Capabilities.Tools | Capabilities.JsonMode, int contextWindow = 128_000)
    {
        _endpoints.Add(new EndpointDescriptor
        {
            Id = id,
            Provider = id.Split('-')[0],
            Model = id,
            ModelVersion = "2026-01-01",
            Region = "us-east",
            ContextWindow = contextWindow,
            Capabilities = caps,
        });
        _health.Add(health ?? EndpointHealthView.Healthy);
        return this;
    }

    public RoutingSnapshot Snapshot(params WorkloadClassPolicy[] classes) => RoutingSnapshot.Create(_endpoints, _health, classes);

    public Router Router(int seed = 7, IQuotaGate? quota = null, RouterOptions? options = null) =>
        new(options ?? new RouterOptions(), Time, new Random(seed), quota);

    public AdminOverride Override(OverrideKind kind, TimeSpan? for_ = null) =>
        new(kind, "alice@example.com", "incident 42", Now, for_ is { } d ? Now + d : null);

    public static EndpointHealthView Open(BreakerReason reason) => new() { State = BreakerState.Open, Reason = reason, TrafficFraction = 0 };

    public static EndpointHealthView HalfOpen(BreakerReason reason) => new() { State = BreakerState.HalfOpen, Reason = reason, TrafficFraction = 0 };
}

/// <summary>Shorthands for requests and decisions.</summary>
internal static class Decisions
{
    public static int Index(this RoutingSnapshot snapshot, string id) =>
        snapshot.TryGetEndpointIndex(id, out int i) ? i : throw new KeyNotFoundException(id);

    public static string? ChosenId(this RoutingSnapshot snapshot, in RouteDecision decision) =>
        decision.HasEndpoint ? snapshot.EndpointAt(decision.EndpointIndex).Id : null;

    public static string[] ChainIds(this RoutingSnapshot snapshot, in RouteDecision decision, int[] chain) =>
        [.. chain.Take(decision.FallbackCount).Select(i => snapshot.EndpointAt(i).Id)];

    /// <summary>Decides for <paramref name="className"/> with a 16-slot chain and returns chosen id, reason and chain ids.</summary>
    public static (string? Chosen, RouteDecision Decision, string[] Chain) Route(
        this Router router,
        RoutingSnapshot snapshot,
        string className,
        int attempt = 0,
        string[]? exclude = null,
        Capabilities caps = Capabilities.None,
        long input = 1_000,
        long maxOutput = 500,
        TimeSpan? deadline = null)
    {
        Assert.True(snapshot.TryGetClassIndex(className, out int cls));
        int[] excluded = [.. (exclude ?? []).Select(snapshot.Index)];
        var chain = new int[16];
        var decision = router.Decide(
            snapshot,
            new RouteRequest
            {
                ClassIndex = cls,
                EstimatedInputTokens = input,
                MaxOutputTokens = maxOutput,
                RequiredCapabilities = caps,
                Attempt = attempt,
                Exclude = excluded,
                RemainingDeadline = deadline,
            },
            chain);
        return (snapshot.ChosenId(decision), decision, snapshot.ChainIds(decision, chain));
    }
}
