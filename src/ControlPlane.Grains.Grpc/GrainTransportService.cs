using System.Collections.Immutable;
using ControlPlane.Grains.Grpc.Wire;
using ControlPlane.Grains.Transport;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;
using Google.Protobuf;

namespace ControlPlane.Grains.Grpc;

/// <summary>The server half: decodes <c>controlplane.internal.v1.GrainTransport/Invoke</c> and hands the call to the
/// silo's <see cref="IGrainCallDispatcher"/>. Calls refused before they ran answer <c>rejected</c>.</summary>
internal sealed class GrainTransportService(Func<IGrainCallDispatcher> dispatcher, GrainCallCodec codec, string siloId)
{
    public const string ServiceName = "controlplane.internal.v1.GrainTransport";

    public static readonly Method<InvokeRequest, InvokeResponse> InvokeMethod = new(
        MethodType.Unary, ServiceName, "Invoke", Marshallers.Protobuf<InvokeRequest>(), Marshallers.Protobuf<InvokeResponse>());

    public GrpcServiceDefinition CreateDefinition() =>
        GrpcServiceDefinition.CreateBuilder(ServiceName, GrainTransportReflection.Descriptor)
            .AddUnary(InvokeMethod, (request, _) => InvokeAsync(request))
            .Build();

    public async Task<InvokeResponse> InvokeAsync(InvokeRequest request)
    {
        var target = new GrainId(request.GrainType, request.GrainKey);
        var calls = dispatcher();
        var method = calls.FindMethod(request.MethodId);
        if (method is null)
        {
            return Failed(typeof(GrainException).FullName!, $"Silo {siloId} does not know method '{request.MethodId}' (is the interface registered here?).");
        }

        try
        {
            var message = new GrainCallMessage(target, method, codec.ReadArguments(method, request.Arguments), ReadChain(request.Chain))
            {
                FromRemoteSilo = true,
            };
            var result = await calls.DispatchAsync(message);
            return new InvokeResponse { Result = codec.WriteResult(method, result) };
        }
        catch (GrainCallRejectedException rejected) when (rejected.GrainId == target)
        {
            return Rejected(Wire.Rejected.Types.Reason.NotOwner, rejected.OwnerSiloId, rejected.Message);
        }
        catch (GrainException refused) when (refused.GrainId == target
            && refused is GrainSiloStoppingException or GrainSiloNotServingException or GrainSiloStartingException)
        {
            // Refused at the door (starting, shutting down, or self-fenced while its lease is at risk): nothing ran.
            return Rejected(Wire.Rejected.Types.Reason.NotServing, owner: null, refused.Message);
        }
#pragma warning disable CA1031 // Every other exception belongs to the remote caller, as type name and message.
        catch (Exception error)
#pragma warning restore CA1031
        {
            return Failed(error.GetType().FullName ?? error.GetType().Name, error.Message);
        }
    }

    private static Transport.CallChain? ReadChain(Wire.CallChain? chain)
    {
        if (chain is null)
        {
            return null;
        }

        var path = ImmutableArray.CreateBuilder<GrainId>(chain.Path.Count);
        foreach (var hop in chain.Path)
        {
            path.Add(new GrainId(hop.Type, hop.Key));
        }

        return new Transport.CallChain(new Guid(chain.Id.Span), path.MoveToImmutable());
    }

    internal static Wire.CallChain? WriteChain(Transport.CallChain? chain)
    {
        if (chain is null)
        {
            return null;
        }

        var wire = new Wire.CallChain { Id = ByteString.CopyFrom(chain.Id.ToByteArray()) };
        foreach (var hop in chain.Path)
        {
            wire.Path.Add(new GrainRef { Type = hop.Type, Key = hop.Key });
        }

        return wire;
    }

    private static InvokeResponse Rejected(Wire.Rejected.Types.Reason reason, string? owner, string detail) =>
        new() { Rejected = new Rejected { Reason = reason, OwnerSiloId = owner ?? "", Detail = detail } };

    private static InvokeResponse Failed(string type, string message) =>
        new() { Failure = new Failure { ExceptionType = type, Message = message } };
}
