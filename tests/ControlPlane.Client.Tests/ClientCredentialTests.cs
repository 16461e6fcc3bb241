using System.Collections.Concurrent;
using ControlPlane.Client.Tests.Support;
using ControlPlane.Contracts.V1;
using ControlPlane.Testing;
using Grpc.Core;

namespace ControlPlane.Client.Tests;

/// <summary>The SDK's credential (<c>authorization: Bearer …</c> on every call) and TLS trust (https with a custom root
/// certificate), against a real Grpc.AspNetCore node.</summary>
public sealed class ClientCredentialTests : IDisposable
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    public void Dispose() => _certificates.Dispose();

    private static RouteRequest Chat() => new() { WorkloadClass = "customer_chat", EstimatedInputTokens = 1000, MaxOutputTokens = 500 };

    private static string? Authorization(Metadata headers) => headers.GetValue("authorization");

    [Fact]
    public async Task The_bearer_token_travels_on_Route_ReportOutcome_and_ReportOutcomes_over_loopback_h2c()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address, new ControlPlaneClientOptions { ApiKey = "cpk_abcdefghijkl_s3cret" });

        await client.RouteAsync(Chat());
        await client.ReportAsync(new Outcome { EndpointId = "ep-a", Status = OutcomeStatus.Success });
        await client.ReportBatchAsync([new Outcome { EndpointId = "ep-a", Status = OutcomeStatus.Success }]);

        Assert.Equal("Bearer cpk_abcdefghijkl_s3cret", Authorization(Assert.Single(node.Routing.Routes).Headers));
        Assert.Equal("Bearer cpk_abcdefghijkl_s3cret", Authorization(Assert.Single(node.Routing.Reports).Headers));
        Assert.Equal("Bearer cpk_abcdefghijkl_s3cret", Authorization(Assert.Single(node.Routing.Batches).Headers));
    }

    [Fact]
    public async Task Without_a_credential_no_authorization_header_is_sent()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);

        await client.RouteAsync(Chat());

        Assert.Null(Authorization(Assert.Single(node.Routing.Routes).Headers));
    }

    [Fact]
    public async Task A_token_provider_is_asked_before_every_call()
    {
        await using var node = await RoutingNode.StartAsync();
        var issued = 0;
        using var client = new ControlPlaneClient(node.Address, new ControlPlaneClientOptions
        {
            ApiKey = "ignored",
            ApiKeyProvider = _ => ValueTask.FromResult($"jwt-{Interlocked.Increment(ref issued)}"),
        });

        await client.RouteAsync(Chat());
        await client.RouteAsync(Chat());

        Assert.Equal(["Bearer jwt-1", "Bearer jwt-2"], node.Routing.Routes.Select(r => Authorization(r.Headers)));
    }

    [Fact]
    public async Task A_provider_returning_an_invalid_token_fails_the_call_before_it_is_sent()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address, new ControlPlaneClientOptions
        {
            RouteMaxAttempts = 1,
            ApiKeyProvider = _ => ValueTask.FromResult("two\r\nlines"),
        });

        await Assert.ThrowsAsync<RpcException>(() => client.RouteAsync(Chat()));

        Assert.Empty(node.Routing.Routes);
    }

    [Fact]
    public async Task Https_with_a_custom_root_routes_and_carries_the_token()
    {
        await using var node = await RoutingNode.StartAsync(_certificates);
        using var root = _certificates.Root;
        Assert.Equal("https", node.Address.Scheme);
        using var client = new ControlPlaneClient(node.Address, new ControlPlaneClientOptions { RootCertificate = root, ApiKey = "eyJ.jwt.sig" });

        var decision = await client.RouteAsync(Chat());

        Assert.Equal("ep-a", decision.EndpointId);
        Assert.Equal("Bearer eyJ.jwt.sig", Authorization(Assert.Single(node.Routing.Routes).Headers));
    }

    [Fact]
    public async Task Https_without_the_root_or_with_another_root_is_refused_and_nothing_reaches_the_node()
    {
        await using var node = await RoutingNode.StartAsync(_certificates);
        using var stranger = TestCertificates.Create(caName: "someone else");
        using var otherRoot = stranger.Root;
        using var systemTrust = new ControlPlaneClient(node.Address, new ControlPlaneClientOptions { RouteMaxAttempts = 1, ApiKey = "k" });
        using var wrongRoot = new ControlPlaneClient(node.Address, new ControlPlaneClientOptions { RouteMaxAttempts = 1, RootCertificate = otherRoot, ApiKey = "k" });

        var first = await Assert.ThrowsAsync<RpcException>(() => systemTrust.RouteAsync(Chat()));
        var second = await Assert.ThrowsAsync<RpcException>(() => wrongRoot.RouteAsync(Chat()));

        Assert.NotEqual(StatusCode.OK, first.StatusCode);
        Assert.NotEqual(StatusCode.OK, second.StatusCode);
        Assert.Empty(node.Routing.Routes);
    }

    [Fact]
    public async Task A_host_name_the_certificate_does_not_name_is_refused_even_with_the_root()
    {
        await using var node = await RoutingNode.StartAsync(_certificates);
        using var root = _certificates.Root;
        // 127.0.0.2 is loopback too, but the certificate names only localhost, 127.0.0.1 and ::1.
        var elsewhere = new UriBuilder(node.Address) { Host = "127.0.0.2" }.Uri;
        using var client = new ControlPlaneClient(elsewhere, new ControlPlaneClientOptions { RouteMaxAttempts = 1, RootCertificate = root });

        await Assert.ThrowsAsync<RpcException>(() => client.RouteAsync(Chat()));

        Assert.Empty(node.Routing.Routes);
    }

    [Fact]
    public void A_credential_over_plaintext_off_loopback_needs_explicit_permission()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            new ControlPlaneClient(new Uri("http://10.1.2.3:50051"), new ControlPlaneClientOptions { ApiKey = "cpk_x" }));
        Assert.Contains("AllowCredentialsWithoutTls", error.Message, StringComparison.Ordinal);

        using var allowed = new ControlPlaneClient(new Uri("http://10.1.2.3:50051"), new ControlPlaneClientOptions { ApiKey = "cpk_x", AllowCredentialsWithoutTls = true });
        using var loopback = new ControlPlaneClient(new Uri("http://localhost:50051"), new ControlPlaneClientOptions { ApiKey = "cpk_x" });
        using var noCredential = new ControlPlaneClient(new Uri("http://10.1.2.3:50051"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("line\nbreak")]
    [InlineData("non-ascii-ü")]
    public void A_token_that_cannot_be_a_header_value_is_refused(string token)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new ControlPlaneClientOptions { ApiKey = token }.Validate());

        Assert.Equal(nameof(ControlPlaneClientOptions.ApiKey), error.ParamName);
    }

    [Fact]
    public void A_root_certificate_for_an_http_address_is_refused()
    {
        using var root = _certificates.Root;

        var error = Assert.Throws<ArgumentException>(() => new ControlPlaneClient(new Uri("http://127.0.0.1:50051"), new ControlPlaneClientOptions { RootCertificate = root }));

        Assert.Contains("RootCertificate applies to https addresses", error.Message, StringComparison.Ordinal);
    }
}
