using ControlPlane.Contracts.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;

namespace ControlPlane.Client;

/// <summary>Typed client of the data-plane API (<c>controlplane.v1.Routing</c>). Thread-safe; one per node address.</summary>
public sealed class ControlPlaneClient : IDisposable
{
    private const string Service = "controlplane.v1.Routing";

    private static readonly Method<RouteRequest, RouteDecision> RouteMethod =
        new(MethodType.Unary, Service, "Route", Marshallers.Protobuf<RouteRequest>(), Marshallers.Protobuf<RouteDecision>());

    private static readonly Method<Outcome, OutcomeAck> ReportMethod =
        new(MethodType.Unary, Service, "ReportOutcome", Marshallers.Protobuf<Outcome>(), Marshallers.Protobuf<OutcomeAck>());

    private static readonly Method<Outcome, OutcomeAck> ReportManyMethod =
        new(MethodType.ClientStreaming, Service, "ReportOutcomes", Marshallers.Protobuf<Outcome>(), Marshallers.Protobuf<OutcomeAck>());

    private readonly GrpcChannel? _ownedChannel;
    private readonly CallInvoker _invoker;

    /// <summary>A client of the node at <paramref name="address"/> (e.g. <c>http://127.0.0.1:50051</c>).</summary>
    public ControlPlaneClient(Uri address, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        _ownedChannel = GrpcChannel.ForAddress(address, options);
        _invoker = _ownedChannel.CreateCallInvoker();
    }

    /// <summary>A client over an existing channel (not disposed by this client).</summary>
    public ControlPlaneClient(GrpcChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _invoker = channel.CreateCallInvoker();
    }

    /// <summary>Asks where a request should go.</summary>
    /// <exception cref="RpcException">NOT_FOUND for an unknown class, INVALID_ARGUMENT naming a bad field.</exception>
    public Task<RouteDecision> RouteAsync(RouteRequest request, CancellationToken cancellationToken = default) =>
        _invoker.UnaryAsync(RouteMethod, request, new CallOptions(cancellationToken: cancellationToken));

    /// <summary>Reports one attempt's outcome.</summary>
    public Task<OutcomeAck> ReportAsync(Outcome outcome, CancellationToken cancellationToken = default) =>
        _invoker.UnaryAsync(ReportMethod, outcome, new CallOptions(cancellationToken: cancellationToken));

    /// <summary>Reports a batch on one client stream; the ack counts accepted and rejected outcomes.</summary>
    public async Task<OutcomeAck> ReportBatchAsync(IReadOnlyList<Outcome> outcomes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        using var call = _invoker.ClientStreaming(ReportManyMethod, new CallOptions(cancellationToken: cancellationToken));
        foreach (var outcome in outcomes)
        {
            await call.RequestStream.WriteAsync(outcome).ConfigureAwait(false);
        }

        await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        return await call.ResponseAsync.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => _ownedChannel?.Dispose();
}
