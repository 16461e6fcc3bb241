using System.Globalization;
using ControlPlane.Contracts.V1;
using ControlPlane.Service.Security;
using Grpc.Core;

namespace ControlPlane.Service.DataPlane;

/// <summary>The <c>controlplane.v1.Routing</c> data-plane service over the node-local <see cref="RoutingNode"/>.</summary>
internal sealed partial class RoutingService(RoutingNode node, TimeProvider time) : Routing.RoutingBase
{
    public const string ServiceName = "controlplane.v1.Routing";

    /// <summary>Errors listed in one streamed ack, so a bad client cannot grow the ack without bound.</summary>
    internal const int MaxAckErrors = 100;

    [RequireRoles(Roles.DataPlane)]
    public override Task<RouteDecision> Route(RouteRequest request, ServerCallContext context)
    {
        if (!node.IsReady)
        {
            throw NotReady();
        }

        TimeSpan? deadline = context.Deadline == DateTime.MaxValue ? null : context.Deadline - time.GetUtcNow().UtcDateTime;
        if (deadline <= TimeSpan.Zero)
        {
            // Grpc.AspNetCore runs the handler even when the deadline passed before it started (grpc-timeout 1n): a
            // decision now would reserve quota for a call its caller has already given up on.
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"));
        }

        // Null (no cost) unless sampled: a caller's sampled traceparent, or the --trace-sample share of roots.
        using var activity = Telemetry.ControlPlaneTelemetry.StartIfSampled(RouteSpan);
        try
        {
            // Completed at once unless a queue_only class's call is held; waiting holds no thread.
            var decision = node.RouteAsync(request, deadline, context.CancellationToken);
            if (activity is not null)
            {
                TagRoute(activity, request, decision);
            }

            // A held call that already ended with an error goes through HeldAsync too, so its error maps to a status.
            return decision.IsCompletedSuccessfully ? decision : HeldAsync(decision);
        }
        catch (RoutingRequestException error)
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, error.Kind.ToString());
            throw ToRpc(error);
        }
    }

    [RequireRoles(Roles.DataPlane, Roles.Reporter, Roles.Prober)]
    public override Task<OutcomeAck> ReportOutcome(Outcome outcome, ServerCallContext context)
    {
        // Once stopping, the final flush has run: an outcome accepted now would be acknowledged and lost.
        if (!node.IsReady)
        {
            throw NotReady();
        }

        using var activity = Telemetry.ControlPlaneTelemetry.StartIfSampled(ReportSpan);
        try
        {
            ReportOutcomeCaller.Of(context).Admit(outcome);
            node.Report(outcome);
            if (activity is not null)
            {
                TagOutcome(activity, outcome);
            }
        }
        catch (RoutingRequestException error)
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, error.Kind.ToString());
            throw ToRpc(error);
        }

        return Task.FromResult(new OutcomeAck { Accepted = 1 });
    }

    [RequireRoles(Roles.DataPlane, Roles.Reporter, Roles.Prober)]
    public override async Task<OutcomeAck> ReportOutcomes(IAsyncStreamReader<Outcome> outcomes, ServerCallContext context)
    {
        if (!node.IsReady)
        {
            throw NotReady();
        }

        using var activity = Telemetry.ControlPlaneTelemetry.StartIfSampled(ReportBatchSpan);
        var ack = new OutcomeAck();
        var index = 0;
        var caller = ReportOutcomeCaller.Of(context);
        while (await outcomes.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            try
            {
                caller.Admit(outcomes.Current);
                node.Report(outcomes.Current);
                ack.Accepted++;
            }
            catch (RoutingRequestException error)
            {
                // One bad outcome in a batch must not discard the good ones: count it and say why. The field is
                // prefixed with the outcome's position here, so a good outcome never pays for formatting it.
                ack.Rejected++;
                if (ack.Errors.Count < MaxAckErrors)
                {
                    ack.Errors.Add(string.Create(CultureInfo.InvariantCulture, $"outcomes[{index}].{error.Message}"));
                }
            }

            index++;
        }

        activity?.SetTag("controlplane.outcomes.accepted", ack.Accepted).SetTag("controlplane.outcomes.rejected", ack.Rejected);
        return ack;
    }

    [RequireRoles(Roles.DataPlane, Roles.Prober)]
    public override async Task WatchRoutingTable(WatchRoutingTableRequest request, IServerStreamWriter<RoutingTable> responses, ServerCallContext context)
    {
        if (!node.IsReady)
        {
            throw NotReady();
        }

        var snapshot = node.Snapshot;
        for (var i = 0; i < request.WorkloadClasses.Count; i++)
        {
            if (!snapshot.TryGetClassIndex(request.WorkloadClasses[i], out _))
            {
                throw new RpcException(new Status(StatusCode.NotFound, $"workload_classes[{i}]: unknown workload class '{request.WorkloadClasses[i]}'"));
            }
        }

        var classes = request.WorkloadClasses.ToHashSet(StringComparer.Ordinal);
        var token = context.CancellationToken;
        while (!token.IsCancellationRequested)
        {
            var version = node.TableVersion;
            await responses.WriteAsync(node.BuildTable(classes)).ConfigureAwait(false);
            try
            {
                await node.WaitForTableChangeAsync(version, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private static async Task<RouteDecision> HeldAsync(Task<RouteDecision> held)
    {
        try
        {
            return await held.ConfigureAwait(false);
        }
        catch (RoutingRequestException error)
        {
            throw ToRpc(error);
        }
    }

    // Starting (not yet synchronized with the grains) or stopping: retry on another node or a moment later.
    private static RpcException NotReady() =>
        new(new Status(StatusCode.Unavailable, "This node's routing table is not synchronized (starting or stopping); retry another node or shortly."));

    private static RpcException ToRpc(RoutingRequestException error) =>
        new(new Status(error.Kind switch
        {
            RequestErrorKind.NotFound => StatusCode.NotFound,
            RequestErrorKind.PermissionDenied => StatusCode.PermissionDenied,
            _ => StatusCode.InvalidArgument,
        }, error.Message));
}
