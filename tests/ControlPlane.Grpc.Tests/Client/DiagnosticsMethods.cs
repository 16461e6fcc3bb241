using ControlPlane.Contracts.V1;

namespace ControlPlane.Grpc.Tests.Client;

/// <summary>Method descriptors of controlplane.v1.Diagnostics, built from the generic protobuf marshallers.</summary>
internal static class DiagnosticsMethods
{
    public const string Service = "controlplane.v1.Diagnostics";

    public static readonly Method<EchoRequest, EchoResponse> Echo = Create(MethodType.Unary, "Echo");
    public static readonly Method<EchoRequest, EchoResponse> EchoStream = Create(MethodType.ServerStreaming, "EchoStream");
    public static readonly Method<EchoRequest, EchoResponse> Collect = Create(MethodType.ClientStreaming, "Collect");
    public static readonly Method<EchoRequest, EchoResponse> Chat = Create(MethodType.DuplexStreaming, "Chat");

    public static Method<EchoRequest, EchoResponse> Create(MethodType type, string name, string service = Service) =>
        new(type, service, name, Marshallers.Protobuf<EchoRequest>(), Marshallers.Protobuf<EchoResponse>());
}
