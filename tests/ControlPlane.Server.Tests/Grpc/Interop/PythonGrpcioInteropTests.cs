using ControlPlane.Server.Tests.Support;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Grpc.Interop;

/// <summary>Runs the Python grpcio (C-core) client (tests/interop/python) against a controlplane server once, with
/// Debian's /usr/bin/python3 (the python3 on PATH may lack grpc).</summary>
internal static class PythonGrpcio
{
    private const string Python = "/usr/bin/python3";

    /// <summary>Starts the server with <paramref name="serverArguments"/> and runs every case; with
    /// <paramref name="tlsRoot"/> the client connects over TLS trusting that root.</summary>
    public static async Task<InteropRun> RunAsync(string[] serverArguments, string? tlsRoot = null)
    {
        if (!File.Exists(Python))
        {
            return InteropRun.SetupFailed("grpcio", $"{Python} is missing. {InteropCases.InstallHint}");
        }

        var probe = await InteropRun.RunAsync("grpcio", Python, RepositoryLayout.Root, "-c",
            "import json, grpc, google.protobuf; print(json.dumps({'case': 'probe', 'ok': True, 'detail': grpc.__version__}))");
        if (probe.SetupError is not null)
        {
            return InteropRun.SetupFailed("grpcio", $"{Python} cannot import grpc and google.protobuf (python3-grpcio, python3-protobuf). {InteropCases.InstallHint}\n{probe.Output}");
        }

        await using var server = await ControlPlaneProcess.StartAsync(serverArguments);
        string[] client = tlsRoot is null ? ["interop_client.py", server.Target] : ["interop_client.py", "--tls-root", tlsRoot, server.Target];
        return await InteropRun.RunAsync("grpcio", Python, RepositoryLayout.InteropDirectory("python"), client);
    }
}

/// <summary>Starts the controlplane server and runs the Python grpcio client against it once, in plaintext (h2c).</summary>
public sealed class PythonGrpcioInteropFixture : IAsyncLifetime
{
    internal InteropRun Run { get; private set; } = null!;

    public async Task InitializeAsync() => Run = await PythonGrpcio.RunAsync([]);

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>Python grpcio on gRPC C-core (an independent implementation) against the node (Grpc.AspNetCore on Kestrel), one test per case.</summary>
public sealed class PythonGrpcioInteropTests(PythonGrpcioInteropFixture fixture) : IClassFixture<PythonGrpcioInteropFixture>
{
    [Theory]
    [MemberData(nameof(InteropCases.All), MemberType = typeof(InteropCases))]
    public void Python_grpcio_case_passes(string caseName) => fixture.Run.AssertPassed(caseName);
}

/// <summary>Starts the controlplane server with <c>--tls-cert/--tls-key</c> (a test CA's certificate for 127.0.0.1) and
/// runs the Python grpcio client over TLS (<c>grpc.ssl_channel_credentials</c> trusting that CA) once.</summary>
public sealed class PythonGrpcioTlsInteropFixture : IAsyncLifetime
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    internal InteropRun Run { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Run = await PythonGrpcio.RunAsync(["--tls-cert", _certificates.CertificatePath, "--tls-key", _certificates.KeyPath], _certificates.RootPath);

    public Task DisposeAsync()
    {
        _certificates.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>Every interop case again, with grpcio over TLS (ALPN h2) to the node's TLS data-plane listener.</summary>
public sealed class PythonGrpcioTlsInteropTests(PythonGrpcioTlsInteropFixture fixture) : IClassFixture<PythonGrpcioTlsInteropFixture>
{
    [Theory]
    [MemberData(nameof(InteropCases.All), MemberType = typeof(InteropCases))]
    public void Python_grpcio_case_passes_over_TLS(string caseName) => fixture.Run.AssertPassed(caseName);
}
