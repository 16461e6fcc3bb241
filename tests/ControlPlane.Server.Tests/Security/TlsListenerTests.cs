using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Security;
using ControlPlane.Testing;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Server.Tests.Security;

/// <summary>A node started with certificates serves the data plane as HTTP/2 over TLS and the admin API as HTTPS; a
/// plaintext client or one that does not trust the certificate gets nowhere.</summary>
public sealed class TlsListenerTests : IDisposable
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    public void Dispose() => _certificates.Dispose();

    private NodeOptions Tls() => new() { TlsCertificatePath = _certificates.CertificatePath, TlsKeyPath = _certificates.KeyPath };

    private static RouteRequest Chat() => new() { WorkloadClass = "customer_chat", EstimatedInputTokens = 1000, MaxOutputTokens = 500, RequestId = "r" };

    [Fact]
    public async Task Route_over_TLS_and_the_admin_API_over_HTTPS_work_for_a_client_trusting_the_root()
    {
        await using var node = await SecurityNode.StartAsync(Tls());
        using var root = _certificates.Root;
        Assert.Equal("https", node.GrpcAddress.Scheme);
        Assert.Equal("https", node.AdminAddress.Scheme);

        using var channel = GrpcChannel.ForAddress(node.GrpcAddress, new GrpcChannelOptions { HttpHandler = SecurityNode.Authenticated(root) });
        var decision = await new Routing.RoutingClient(channel).RouteAsync(Chat(), deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.NotEmpty(decision.EndpointId);

        using var admin = new HttpClient(SecurityNode.Authenticated(root)) { BaseAddress = node.AdminAddress };
        using var http1 = await admin.GetAsync("admin/v1/fleet");
        Assert.Equal(HttpStatusCode.OK, http1.StatusCode);
        Assert.Equal(HttpVersion.Version11, http1.Version);
        using var request = new HttpRequestMessage(HttpMethod.Get, "admin/v1/fleet") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var http2 = await admin.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, http2.StatusCode);
        Assert.Equal(HttpVersion.Version20, http2.Version);

        // The gRPC Admin service on the admin listener, HTTP/2 chosen by ALPN.
        using var adminChannel = GrpcChannel.ForAddress(node.AdminAddress, new GrpcChannelOptions { HttpHandler = SecurityNode.Authenticated(root) });
        var fleet = await new Admin.AdminClient(adminChannel).GetFleetAsync(new GetFleetRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.NotEmpty(fleet.Endpoints);
    }

    [Fact]
    public async Task Plaintext_to_the_TLS_ports_fails()
    {
        await using var node = await SecurityNode.StartAsync(Tls());
        var grpcPlain = new UriBuilder(node.GrpcAddress) { Scheme = "http" }.Uri;
        var adminPlain = new UriBuilder(node.AdminAddress) { Scheme = "http" }.Uri;

        using var channel = GrpcChannel.ForAddress(grpcPlain, new GrpcChannelOptions { HttpHandler = SecurityNode.Authenticated() });
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            new Routing.RoutingClient(channel).RouteAsync(Chat(), deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
        Assert.NotEqual(StatusCode.OK, error.StatusCode);

        using var admin = TestCredentials.Client(adminPlain);
        // Kestrel drops a plaintext request on a TLS port (or answers it 400); never with the fleet.
        try
        {
            using var response = await admin.GetAsync("admin/v1/fleet");
            Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        }
        catch (HttpRequestException)
        {
            // The connection was closed: refused.
        }
    }

    [Fact]
    public async Task A_client_that_does_not_trust_the_root_is_refused()
    {
        await using var node = await SecurityNode.StartAsync(Tls());
        using var stranger = TestCertificates.Create(caName: "someone else");
        using var otherRoot = stranger.Root;

        using var channel = GrpcChannel.ForAddress(node.GrpcAddress, new GrpcChannelOptions { HttpHandler = SecurityNode.Authenticated(otherRoot) });
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            new Routing.RoutingClient(channel).RouteAsync(Chat(), deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
        Assert.NotEqual(StatusCode.OK, error.StatusCode);
        Assert.Contains("SSL connection could not be established", error.Status.DebugException?.ToString() ?? error.Status.Detail, StringComparison.Ordinal);

        using var admin = new HttpClient(SecurityNode.Trusting(null)) { BaseAddress = node.AdminAddress };
        await Assert.ThrowsAsync<HttpRequestException>(() => admin.GetAsync("admin/v1/fleet"));
    }

    [Fact]
    public async Task The_admin_listener_serves_its_own_certificate_when_given_one()
    {
        using var adminCertificates = TestCertificates.Create(caName: "admin CA");
        await using var node = await SecurityNode.StartAsync(Tls() with
        {
            AdminTlsCertificatePath = adminCertificates.CertificatePath, AdminTlsKeyPath = adminCertificates.KeyPath,
        });
        using var dataRoot = _certificates.Root;
        using var adminRoot = adminCertificates.Root;
        var seen = new ConcurrentBag<X509Certificate2>();

        using var admin = new HttpClient(TestCredentials.Handler(TestCredentials.AdminKey, SecurityNode.Trusting(adminRoot, seen.Add))) { BaseAddress = node.AdminAddress };
        using var response = await admin.GetAsync("admin/v1/fleet");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("admin CA", Assert.Single(seen).Issuer, StringComparison.Ordinal);

        using var channel = GrpcChannel.ForAddress(node.GrpcAddress, new GrpcChannelOptions { HttpHandler = SecurityNode.Authenticated(dataRoot) });
        Assert.NotEmpty((await new Routing.RoutingClient(channel).RouteAsync(Chat(), deadline: DateTime.UtcNow.AddSeconds(10))).EndpointId);
    }

    [Fact]
    public async Task A_plaintext_listener_bound_off_loopback_is_logged_as_a_warning()
    {
        var logs = new CapturingLoggerProvider();
        await using var node = await SecurityNode.StartAsync(new NodeOptions { AdminEndpoint = new IPEndPoint(IPAddress.Any, FreePort.Next()) },
            builder => builder.Logging.AddProvider(logs));

        var warning = Assert.Single(logs.Entries, e => e.Category == ListenerSecurityLog.Category);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("The admin listener on 0.0.0.0:", warning.Message, StringComparison.Ordinal);
        Assert.Contains("no TLS", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_node_with_certificates_on_an_exposed_address_logs_no_warning()
    {
        var logs = new CapturingLoggerProvider();
        await using var node = await SecurityNode.StartAsync(Tls() with { AdminEndpoint = new IPEndPoint(IPAddress.Any, FreePort.Next()) },
            builder => builder.Logging.AddProvider(logs));

        Assert.DoesNotContain(logs.Entries, e => e.Category == ListenerSecurityLog.Category);
        Assert.NotNull(node.Services.GetRequiredService<ListenerTls>().Admin);
    }
}

/// <summary>Keeps every log entry (category, level, message) for assertions.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((category, logLevel, formatter(state, exception)));
    }
}
