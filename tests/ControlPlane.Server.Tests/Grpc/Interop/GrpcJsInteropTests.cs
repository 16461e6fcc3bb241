using ControlPlane.Server.Tests.Support;

namespace ControlPlane.Server.Tests.Grpc.Interop;

/// <summary>Starts the controlplane server and runs the grpc-js client (tests/interop/node) against it once.</summary>
public sealed class GrpcJsInteropFixture : IAsyncLifetime
{
    internal InteropRun Run { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var dir = RepositoryLayout.InteropDirectory("node");
        if (!File.Exists(Path.Combine(dir, "node_modules", "@grpc", "grpc-js", "package.json"))
            || !File.Exists(Path.Combine(dir, "node_modules", "@grpc", "proto-loader", "package.json")))
        {
            Run = InteropRun.SetupFailed("grpc-js", $"@grpc/grpc-js or @grpc/proto-loader is not installed in {dir}/node_modules. {InteropCases.InstallHint}");
            return;
        }

        await using var server = await ControlPlaneProcess.StartAsync();
        try
        {
            Run = await InteropRun.RunAsync("grpc-js", "node", dir, "interop-client.js", server.Target, RepositoryLayout.Protos);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Run = InteropRun.SetupFailed("grpc-js", $"node could not be started ({ex.Message}). {InteropCases.InstallHint}");
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>grpc-js 1.14 (an independent HTTP/2 + gRPC implementation) against the node (Grpc.AspNetCore on Kestrel), one test per case.</summary>
public sealed class GrpcJsInteropTests(GrpcJsInteropFixture fixture) : IClassFixture<GrpcJsInteropFixture>
{
    [Theory]
    [MemberData(nameof(InteropCases.All), MemberType = typeof(InteropCases))]
    public void Grpc_js_case_passes(string caseName) => fixture.Run.AssertPassed(caseName);
}
