using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Security;
using ControlPlane.Service.Admin;
using ControlPlane.Testing;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Tests.Security;

/// <summary>The admin listener's rate limits (ASP.NET Core rate limiter, token buckets): past the limit a request is
/// answered 429 problem+json with Retry-After and changes nothing; the data plane is not limited.</summary>
public sealed class AdminRateLimitTests
{
    // Three requests, then one more per hour: nothing refills during a test. The tests call from loopback, exempt by default.
    private static void LowLimit(WebApplicationBuilder builder) =>
        builder.Services.Configure<AdminRateLimitOptions>(o =>
        {
            o.ExemptLoopback = false;
            o.PermitLimit = 3;
            o.TokensPerPeriod = 1;
            o.ReplenishmentPeriod = TimeSpan.FromHours(1);
        });

    [Fact]
    public async Task Past_the_limit_admin_requests_get_429_problem_json_with_Retry_After_and_change_nothing()
    {
        await using var node = await SecurityNode.StartAsync(new NodeOptions(), LowLimit);
        using var admin = TestCredentials.Client(node.AdminAddress);
        for (var i = 0; i < 3; i++)
        {
            using var ok = await admin.GetAsync("admin/v1/fleet");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var force = new HttpRequestMessage(HttpMethod.Post, "admin/v1/endpoints/openai-gpt4o-us/breaker")
        {
            Content = new StringContent("""{"state":"open","reason":"INC-1","ttlSeconds":600}""", Encoding.UTF8, "application/json"),
        };
        using var refused = await admin.SendAsync(force);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var retryAfter = refused.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Equal((long)retryAfter.Value.TotalSeconds, problem.GetProperty("retryAfterSeconds").GetInt64());
        // Nothing changed: the endpoint has no override.
        var endpoint = await node.Services.GetRequiredService<AdminOperations>().GetEndpointAsync("openai-gpt4o-us");
        Assert.Null(endpoint.Override);
    }

    [Fact]
    public async Task The_data_plane_is_not_limited_and_does_not_spend_the_admin_bucket()
    {
        await using var node = await SecurityNode.StartAsync(new NodeOptions(), LowLimit);
        using var channel = GrpcChannel.ForAddress(node.GrpcAddress, new GrpcChannelOptions { HttpHandler = SecurityNode.Authenticated() });
        var routing = new Routing.RoutingClient(channel);
        for (var i = 0; i < 20; i++)
        {
            var decision = await routing.RouteAsync(new RouteRequest { WorkloadClass = "customer_chat", EstimatedInputTokens = 100, MaxOutputTokens = 100, RequestId = "r" },
                deadline: DateTime.UtcNow.AddSeconds(10));
            Assert.NotEmpty(decision.EndpointId);
        }

        using var admin = TestCredentials.Client(node.AdminAddress);
        for (var i = 0; i < 3; i++)
        {
            using var ok = await admin.GetAsync("admin/v1/fleet");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var refused = await admin.GetAsync("admin/v1/fleet");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
    }

    [Fact]
    public async Task Each_principal_has_its_own_bucket_even_from_the_same_address()
    {
        await using var node = await SecurityNode.StartAsync(new NodeOptions(), LowLimit);
        var bob = await node.CreateKeyAsync("bob", "viewer"); // the admin's first request
        using var admin = TestCredentials.Client(node.AdminAddress);
        using var asBob = TestCredentials.Client(node.AdminAddress, bob);
        for (var i = 0; i < 2; i++)
        {
            using var ok = await admin.GetAsync("admin/v1/fleet");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var adminRefused = await admin.GetAsync("admin/v1/fleet");
        using var bobServed = await asBob.GetAsync("admin/v1/fleet");

        Assert.Equal(HttpStatusCode.TooManyRequests, adminRefused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, bobServed.StatusCode);
    }

    [Fact]
    public async Task A_gRPC_admin_call_past_the_limit_gets_RESOURCE_EXHAUSTED()
    {
        await using var node = await SecurityNode.StartAsync(new NodeOptions(), LowLimit);
        using var channel = GrpcChannel.ForAddress(node.AdminAddress, new GrpcChannelOptions { HttpHandler = SecurityNode.Authenticated() });
        var admin = new Admin.AdminClient(channel);
        for (var i = 0; i < 3; i++)
        {
            Assert.NotEmpty((await admin.GetFleetAsync(new GetFleetRequest(), deadline: DateTime.UtcNow.AddSeconds(10))).Endpoints);
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => admin.SetBreakerAsync(
            new SetBreakerRequest { Id = "openai-gpt4o-us", State = "open", Reason = "INC-2" }, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("Retry after", error.Status.Detail, StringComparison.Ordinal);
        Assert.Null((await node.Services.GetRequiredService<AdminOperations>().GetEndpointAsync("openai-gpt4o-us")).Override);
    }

    [Fact]
    public async Task Invalid_limits_stop_the_node_at_start()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => SecurityNode.StartAsync(new NodeOptions(),
            builder => builder.Services.Configure<AdminRateLimitOptions>(o => o.TokensPerPeriod = 50)));

        Assert.Contains("AdminRateLimit:TokensPerPeriod must be between 1 and 40 (was 50).", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Loopback_callers_are_exempt_from_both_limits_by_default()
    {
        await using var node = await SecurityNode.StartAsync(new NodeOptions(), builder =>
            builder.Services.Configure<AdminRateLimitOptions>(o =>
            {
                o.PermitLimit = 1;
                o.TokensPerPeriod = 1;
                o.ReplenishmentPeriod = TimeSpan.FromHours(1);
                o.FailedAuthenticationLimit = 1;
                o.FailedAuthenticationTokensPerPeriod = 1;
                o.FailedAuthenticationPeriod = TimeSpan.FromHours(1);
            }));
        using var anonymous = new HttpClient { BaseAddress = node.AdminAddress };
        for (var i = 0; i < 3; i++)
        {
            using var refused = await anonymous.GetAsync("admin/v1/fleet");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using var good = TestCredentials.Client(node.AdminAddress);
        for (var i = 0; i < 3; i++)
        {
            using var ok = await good.GetAsync("admin/v1/fleet");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
    }

    [Fact]
    public void Defaults_are_20_per_second_burst_40_and_10_failed_authentications_per_minute()
    {
        var o = new AdminRateLimitOptions();

        Assert.True(new AdminRateLimitOptionsValidator().Validate(null, o).Succeeded);
        Assert.Equal((40, 20, TimeSpan.FromSeconds(1)), (o.PermitLimit, o.TokensPerPeriod, o.ReplenishmentPeriod));
        Assert.Equal((10, 10, TimeSpan.FromMinutes(1)), (o.FailedAuthenticationLimit, o.FailedAuthenticationTokensPerPeriod, o.FailedAuthenticationPeriod));
        Assert.True(o.ExemptLoopback);
    }

    [Fact]
    public async Task Failed_authentications_from_an_address_past_their_limit_lock_it_out_even_with_a_good_key()
    {
        await using var node = await SecurityNode.StartAsync(new NodeOptions(), builder =>
            builder.Services.Configure<AdminRateLimitOptions>(o =>
            {
                o.FailedAuthenticationLimit = 2;
                o.FailedAuthenticationTokensPerPeriod = 1;
                o.FailedAuthenticationPeriod = TimeSpan.FromHours(1);
                // The test calls from loopback, exempt by default.
                o.ExemptLoopback = false;
            }));
        using var good = TestCredentials.Client(node.AdminAddress);
        using (var ok = await good.GetAsync("admin/v1/fleet"))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        for (var i = 0; i < 2; i++)
        {
            using var guess = TestCredentials.Client(node.AdminAddress, $"cpk_guess{i:D7}_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
            using var refused = await guess.GetAsync("admin/v1/fleet");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using var anonymous = new HttpClient { BaseAddress = node.AdminAddress };
        using var lockedOut = await good.GetAsync("admin/v1/fleet");
        using var lockedOutAnonymous = await anonymous.GetAsync("admin/v1/fleet");

        Assert.Equal(HttpStatusCode.TooManyRequests, lockedOut.StatusCode);
        Assert.NotNull(lockedOut.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.TooManyRequests, lockedOutAnonymous.StatusCode);
    }
}
