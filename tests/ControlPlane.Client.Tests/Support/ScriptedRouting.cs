using System.Collections.Concurrent;
using ControlPlane.Contracts.V1;
using Grpc.Core;

namespace ControlPlane.Client.Tests.Support;

/// <summary>One call as the node saw it: its request, the deadline it carried and its headers.</summary>
internal sealed record SeenCall<T>(T Request, DateTime Deadline, TimeSpan RemainingOnArrival, Metadata Headers);

/// <summary>A <c>controlplane.v1.Routing</c> service whose answers are scripted per call: queued answers are used in
/// order, then the default. Every call is recorded as the node saw it.</summary>
internal sealed class ScriptedRouting : Routing.RoutingBase
{
    public ConcurrentQueue<Func<RouteRequest, ServerCallContext, Task<RouteDecision>>> RouteAnswers { get; } = new();

    /// <summary>By default the chain ep-a, ep-b, ep-c without the request's excluded endpoints (as a node answers a
    /// retry); with all of them excluded, no endpoint (<c>no_capacity</c>).</summary>
    public Func<RouteRequest, ServerCallContext, Task<RouteDecision>> DefaultRoute { get; set; } =
        (request, _) => Task.FromResult(Chain(request, "ep-a", "ep-b", "ep-c"));

    public ConcurrentQueue<Func<Outcome, ServerCallContext, Task<OutcomeAck>>> ReportAnswers { get; } = new();

    public ConcurrentQueue<Func<IReadOnlyList<Outcome>, ServerCallContext, Task<OutcomeAck>>> BatchAnswers { get; } = new();

    /// <summary>Called for every stream once its outcomes are read, before the answer (a test can hold the stream here).</summary>
    public Func<IReadOnlyList<Outcome>, Task> OnBatch { get; set; } = _ => Task.CompletedTask;

    public ConcurrentQueue<SeenCall<RouteRequest>> Routes { get; } = new();

    public ConcurrentQueue<SeenCall<Outcome>> Reports { get; } = new();

    public ConcurrentQueue<SeenCall<IReadOnlyList<Outcome>>> Batches { get; } = new();

    /// <summary>Every outcome that reached the node, by unary call or stream, in arrival order.</summary>
    public IReadOnlyList<Outcome> AllOutcomes => [.. Reports.Select(r => r.Request), .. Batches.SelectMany(b => b.Request)];

    public static RouteDecision Decision(string endpoint, params string[] fallbacks) => new()
    {
        DecisionId = "d-" + endpoint,
        EndpointId = endpoint,
        Provider = "test",
        Model = "m",
        RouteReason = "scripted",
        TimeoutMs = 1_000,
        Fallbacks = { fallbacks },
    };

    /// <summary>The first of <paramref name="chain"/> the request does not exclude, with the rest as fallbacks.</summary>
    public static RouteDecision Chain(RouteRequest request, params string[] chain)
    {
        var left = chain.Where(e => !request.ExcludeEndpointIds.Contains(e)).ToArray();
        return left.Length == 0
            ? new RouteDecision { DecisionId = "d-none-" + request.Attempt, RouteReason = "no_capacity" }
            : Decision(left[0], left[1..]);
    }

    public static Func<TRequest, ServerCallContext, Task<TResponse>> Fail<TRequest, TResponse>(StatusCode code, string detail = "scripted failure") =>
        (_, _) => throw new RpcException(new Status(code, detail));

    public override Task<RouteDecision> Route(RouteRequest request, ServerCallContext context)
    {
        Routes.Enqueue(Seen(request, context));
        var answer = RouteAnswers.TryDequeue(out var next) ? next : DefaultRoute;
        return answer(request, context);
    }

    public override Task<OutcomeAck> ReportOutcome(Outcome request, ServerCallContext context)
    {
        Reports.Enqueue(Seen(request, context));
        return ReportAnswers.TryDequeue(out var next) ? next(request, context) : Task.FromResult(new OutcomeAck { Accepted = 1 });
    }

    public override async Task<OutcomeAck> ReportOutcomes(IAsyncStreamReader<Outcome> requestStream, ServerCallContext context)
    {
        var remaining = context.Deadline - DateTime.UtcNow;
        var outcomes = new List<Outcome>();
        await foreach (var outcome in requestStream.ReadAllAsync(context.CancellationToken))
        {
            outcomes.Add(outcome);
        }

        Batches.Enqueue(new SeenCall<IReadOnlyList<Outcome>>(outcomes, context.Deadline, remaining, context.RequestHeaders));
        await OnBatch(outcomes);
        return BatchAnswers.TryDequeue(out var next)
            ? await next(outcomes, context)
            : new OutcomeAck { Accepted = outcomes.Count(o => o.Status != OutcomeStatus.Unspecified), Rejected = outcomes.Count(o => o.Status == OutcomeStatus.Unspecified) };
    }

    private static SeenCall<T> Seen<T>(T request, ServerCallContext context) =>
        new(request, context.Deadline, context.Deadline - DateTime.UtcNow, context.RequestHeaders);
}
