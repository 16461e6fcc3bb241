using ControlPlane.Server.Tests.EndToEnd;

namespace ControlPlane.Server.Tests.Grpc;

/// <summary>One single node (memory storage, diagnostics off as in production) shared by a test class.</summary>
public sealed class NodeFixture : IAsyncLifetime
{
    internal ControlPlaneNode Node { get; private set; } = null!;

    public async Task InitializeAsync() => Node = await ControlPlaneNode.StartInMemoryAsync();

    public async Task DisposeAsync() => await Node.DisposeAsync();
}
