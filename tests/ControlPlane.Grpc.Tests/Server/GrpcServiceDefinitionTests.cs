using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Grpc.Tests.Server;

public sealed class GrpcServiceDefinitionTests
{
    private static readonly Method<EchoRequest, EchoResponse> Echo =
        new(MethodType.Unary, "pkg.Svc", "Echo", Marshallers.Protobuf<EchoRequest>(), Marshallers.Protobuf<EchoResponse>());

    [Fact]
    public void Builder_binds_methods_at_their_paths_and_keeps_descriptors()
    {
        var definition = GrpcServiceDefinition.CreateBuilder("pkg.Svc", DiagnosticsReflection.Descriptor)
            .AddUnary(Echo, (r, _) => Task.FromResult(new EchoResponse()))
            .AddServerStreaming<EchoRequest, EchoResponse>("Stream", (_, _, _) => Task.CompletedTask)
            .Build();

        Assert.Equal("pkg.Svc", definition.ServiceName);
        Assert.Equal(["/pkg.Svc/Echo", "/pkg.Svc/Stream"], definition.MethodPaths);
        Assert.Same(DiagnosticsReflection.Descriptor, Assert.Single(definition.FileDescriptors));
    }

    [Fact]
    public void Method_of_another_shape_service_or_bound_twice_is_rejected()
    {
        var builder = GrpcServiceDefinition.CreateBuilder("pkg.Svc").AddUnary(Echo, (r, _) => Task.FromResult(new EchoResponse()));
        var streaming = new Method<EchoRequest, EchoResponse>(MethodType.ServerStreaming, "pkg.Svc", "S", Echo.RequestMarshaller, Echo.ResponseMarshaller);
        var foreign = new Method<EchoRequest, EchoResponse>(MethodType.Unary, "other.Svc", "Echo", Echo.RequestMarshaller, Echo.ResponseMarshaller);

        Assert.Contains("not Unary", Assert.Throws<ArgumentException>(() => builder.AddUnary(streaming, (r, _) => Task.FromResult(new EchoResponse()))).Message, StringComparison.Ordinal);
        Assert.Contains("belongs to service", Assert.Throws<ArgumentException>(() => builder.AddUnary(foreign, (r, _) => Task.FromResult(new EchoResponse()))).Message, StringComparison.Ordinal);
        Assert.Contains("already bound", Assert.Throws<ArgumentException>(() => builder.AddUnary(Echo, (r, _) => Task.FromResult(new EchoResponse()))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_services_with_one_name_stop_the_server_from_starting()
    {
        var definition = GrpcServiceDefinition.CreateBuilder("pkg.Svc").AddUnary(Echo, (r, _) => Task.FromResult(new EchoResponse())).Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Support.GrpcTestServer.StartAsync(s => s.AddGrpcService(definition).AddGrpcService(definition)));

        Assert.Contains("'pkg.Svc' is registered twice", error.Message, StringComparison.Ordinal);
    }
}
