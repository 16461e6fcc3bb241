using ControlPlane.Server.Tests.Support;

namespace ControlPlane.Server.Tests.Grpc.Interop;

/// <summary>Starts the controlplane server and runs the Python grpcio (C-core) client (tests/interop/python)
/// against it once, with Debian's /usr/bin/python3 (the python3 on PATH may lack grpc).</summary>
public sealed class PythonGrpcioInteropFixture : IAsyncLifetime
{
    private const string Python = "/usr/bin/python3";

    internal InteropRun Run { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Python))
        {
            Run = InteropRun.SetupFailed("grpcio", $"{Python} is missing. {InteropCases.InstallHint}");
            return;
        }

        var probe = await InteropRun.RunAsync("grpcio", Python, RepositoryLayout.Root, "-c",
            "import json, grpc, google.protobuf; print(json.dumps({'case': 'probe', 'ok': True, 'detail': grpc.__version__}))");
        if (probe.SetupError is not null)
        {
            Run = InteropRun.SetupFailed("grpcio", $"{Python} cannot import grpc and google.protobuf (python3-grpcio, python3-protobuf). {InteropCases.InstallHint}\n{probe.Output}");
            return;
        }

        await using var server = await ControlPlaneProcess.StartAsync();
        Run = await InteropRun.RunAsync("grpcio", Python, RepositoryLayout.InteropDirectory("python"), "interop_client.py", server.Target);
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>Python grpcio on gRPC C-core (an independent implementation) against the node (Grpc.AspNetCore on Kestrel), one test per case.</summary>
public sealed class PythonGrpcioInteropTests(PythonGrpcioInteropFixture fixture) : IClassFixture<PythonGrpcioInteropFixture>
{
    [Theory]
    [MemberData(nameof(InteropCases.All), MemberType = typeof(InteropCases))]
    public void Python_grpcio_case_passes(string caseName) => fixture.Run.AssertPassed(caseName);
}
