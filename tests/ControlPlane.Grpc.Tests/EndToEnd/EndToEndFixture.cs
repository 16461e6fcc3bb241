using ControlPlane.Grpc.Health;
using ControlPlane.Grpc.Reflection;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Tests.Support;

namespace ControlPlane.Grpc.Tests.EndToEnd;

/// <summary>Our server (test service, health, reflection) on a real Kestrel socket, shared by a test class.</summary>
public sealed class EndToEndFixture : IAsyncLifetime
{
    public TestService Service { get; } = new();

    public GrpcTestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Server = await GrpcTestServer.StartAsync(services =>
        {
            services.AddGrpcService(_ => Service.CreateDefinition());
            services.AddGrpcHealth();
            services.AddGrpcReflection();
        });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
