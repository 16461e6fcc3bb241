using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Tests.Client;
using ControlPlane.Grpc.Tests.Support;
using Grpc.Health.V1;

namespace ControlPlane.Grpc.Tests.EndToEnd;

/// <summary>Descriptors of the test, health and reflection services for our client.</summary>
internal static class TestMethods
{
    public static readonly Method<EchoRequest, EchoResponse> Unary = DiagnosticsMethods.Create(MethodType.Unary, "Unary", TestService.Name);
    public static readonly Method<EchoRequest, EchoResponse> ServerStreaming = DiagnosticsMethods.Create(MethodType.ServerStreaming, "ServerStreaming", TestService.Name);
    public static readonly Method<EchoRequest, EchoResponse> ClientStreaming = DiagnosticsMethods.Create(MethodType.ClientStreaming, "ClientStreaming", TestService.Name);
    public static readonly Method<EchoRequest, EchoResponse> Duplex = DiagnosticsMethods.Create(MethodType.DuplexStreaming, "Duplex", TestService.Name);

    public static readonly Method<HealthCheckRequest, HealthCheckResponse> HealthCheck = new(MethodType.Unary, "grpc.health.v1.Health", "Check",
        Marshallers.Protobuf<HealthCheckRequest>(), Marshallers.Protobuf<HealthCheckResponse>());
    public static readonly Method<HealthCheckRequest, HealthCheckResponse> HealthWatch = new(MethodType.ServerStreaming, "grpc.health.v1.Health", "Watch",
        Marshallers.Protobuf<HealthCheckRequest>(), Marshallers.Protobuf<HealthCheckResponse>());

    public static readonly Method<global::Grpc.Reflection.V1.ServerReflectionRequest, global::Grpc.Reflection.V1.ServerReflectionResponse> ReflectionV1 = new(
        MethodType.DuplexStreaming, "grpc.reflection.v1.ServerReflection", "ServerReflectionInfo",
        Marshallers.Protobuf<global::Grpc.Reflection.V1.ServerReflectionRequest>(), Marshallers.Protobuf<global::Grpc.Reflection.V1.ServerReflectionResponse>());
    public static readonly Method<global::Grpc.Reflection.V1Alpha.ServerReflectionRequest, global::Grpc.Reflection.V1Alpha.ServerReflectionResponse> ReflectionV1Alpha = new(
        MethodType.DuplexStreaming, "grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo",
        Marshallers.Protobuf<global::Grpc.Reflection.V1Alpha.ServerReflectionRequest>(), Marshallers.Protobuf<global::Grpc.Reflection.V1Alpha.ServerReflectionResponse>());
}
