using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Client;

namespace ControlPlane.Grpc.Tests.Client;

/// <summary>A typed client of controlplane.v1.Diagnostics: thin methods over <see cref="CallInvoker"/> and
/// the descriptors in <see cref="DiagnosticsMethods"/>, the way a generated client would look.</summary>
internal sealed class DiagnosticsClient(CallInvoker invoker)
{
    public Task<EchoResponse> EchoAsync(EchoRequest request, CallOptions options = default) =>
        invoker.UnaryAsync(DiagnosticsMethods.Echo, request, options);

    public AsyncUnaryCall<EchoResponse> Echo(EchoRequest request, CallOptions options = default) =>
        invoker.AsyncUnaryCall(DiagnosticsMethods.Echo, request, options);

    public AsyncServerStreamingCall<EchoResponse> EchoStream(EchoRequest request, CallOptions options = default) =>
        invoker.ServerStreaming(DiagnosticsMethods.EchoStream, request, options);

    public AsyncClientStreamingCall<EchoRequest, EchoResponse> Collect(CallOptions options = default) =>
        invoker.ClientStreaming(DiagnosticsMethods.Collect, options);

    public AsyncDuplexStreamingCall<EchoRequest, EchoResponse> Chat(CallOptions options = default) =>
        invoker.DuplexStreaming(DiagnosticsMethods.Chat, options);
}
