using ControlPlane.Server.Tests.Support;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Grpc.Interop;

/// <summary>Runs the grpc-js client (tests/interop/node) against a controlplane server once.</summary>
internal static class GrpcJs
{
    /// <summary>Starts the server with <paramref name="serverArguments"/> and runs every case; with
    /// <paramref name="tlsRoot"/> the client connects over TLS trusting that root.</summary>
    public static async Task<InteropRun> RunAsync(string[] serverArguments, string? tlsRoot = null)
    {
        var dir = RepositoryLayout.InteropDirectory("node");
        if (!File.Exists(Path.Combine(dir, "node_modules", "@grpc", "grpc-js", "package.json"))
            || !File.Exists(Path.Combine(dir, "node_modules", "@grpc", "proto-loader", "package.json")))
        {
            return InteropRun.SetupFailed("grpc-js", $"@grpc/grpc-js or @grpc/proto-loader is not installed in {dir}/node_modules. {InteropCases.InstallHint}");
        }

        await using var server = await ControlPlaneProcess.StartAsync(serverArguments);
        string[] client = tlsRoot is null
            ? ["interop-client.js", server.Target, RepositoryLayout.Protos]
            : ["interop-client.js", "--tls-root", tlsRoot, server.Target, RepositoryLayout.Protos];
        try
        {
            return await InteropRun.RunAsync("grpc-js", "node", dir, client);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return InteropRun.SetupFailed("grpc-js", $"node could not be started ({ex.Message}). {InteropCases.InstallHint}");
        }
    }
}

/// <summary>Starts the controlplane server and runs the grpc-js client against it once, in plaintext (h2c).</summary>
public sealed class GrpcJsInteropFixture : IAsyncLifetime
{
    internal InteropRun Run { get; private set; } = null!;

    public async Task InitializeAsync() => Run = await GrpcJs.RunAsync([]);

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>grpc-js 1.14 (an independent HTTP/2 + gRPC implementation) against the node (Grpc.AspNetCore on Kestrel), one test per case.</summary>
public sealed class GrpcJsInteropTests(GrpcJsInteropFixture fixture) : IClassFixture<GrpcJsInteropFixture>
{
    [Theory]
    [MemberData(nameof(InteropCases.All), MemberType = typeof(InteropCases))]
    public void Grpc_js_case_passes(string caseName) => fixture.Run.AssertPassed(caseName);
}

/// <summary>Starts the controlplane server with <c>--tls-cert/--tls-key</c> and runs the grpc-js client over TLS
/// (<c>grpc.credentials.createSsl</c> trusting the test CA) once.</summary>
public sealed class GrpcJsTlsInteropFixture : IAsyncLifetime
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    internal InteropRun Run { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Run = await GrpcJs.RunAsync(["--tls-cert", _certificates.CertificatePath, "--tls-key", _certificates.KeyPath], _certificates.RootPath);

    public Task DisposeAsync()
    {
        _certificates.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>Every interop case again, with grpc-js over TLS (ALPN h2) to the node's TLS data-plane listener.</summary>
public sealed class GrpcJsTlsInteropTests(GrpcJsTlsInteropFixture fixture) : IClassFixture<GrpcJsTlsInteropFixture>
{
    [Theory]
    [MemberData(nameof(InteropCases.All), MemberType = typeof(InteropCases))]
    public void Grpc_js_case_passes_over_TLS(string caseName) => fixture.Run.AssertPassed(caseName);
}
