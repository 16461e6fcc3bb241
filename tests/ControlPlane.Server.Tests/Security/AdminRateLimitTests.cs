using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Security;
using ControlPlane.Service.Admin;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Tests.Security;

/// <summary>The admin listener's rate limits (ASP.NET Core rate limiter, token buckets): past the limit a request is
/// answered 429 problem+json with Retry-After and changes nothing; the data plane is not limited.</summary>
public sealed class AdminRateLimitTests
{
    // Three requests, then one more per hour: nothing refills during a test.
    private static void LowLimit(WebApplicationBuilder builder) =>
        builder.Services.Configure<AdminRateLimitOptions>(o =>
        {
            o.PermitLimit = 3;
            o.TokensPerPeriod = 1;
            o.ReplenishmentPeriod = TimeSpan.FromHours(1);
        });

    [Fact]
    public async Task Past_the_limit_admin_requests_get_429_problem_json_with_Retry_After_and_change_nothing()
    {
        await using var node = await SecurityNode.StartAsync(new NodeOptions(), LowLimit);
        using var admin = new HttpClient { BaseAddress = node.AdminAddress };
        for (var i = 0; i < 3; i++)
        {
            using var ok = await admin.GetAsync("admin/v1/fleet");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var force = new HttpRequestMessage(HttpMethod.Post, "admin/v1/endpoints/openai-gpt4o-us/breaker")
        {
            Content = new StringContent("""{"state":"open","reason":"INC-1","ttlSeconds":600}""", Encoding.UTF8, "application/json"),
        };
        force.Headers.Add("X-Actor", "alice");
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
        using var channel = GrpcChannel.ForAddress(node.GrpcAddress);
        var routing = new Routing.RoutingClient(channel);
        for (var i = 0; i < 20; i++)
        {
            var decision = await routing.RouteAsync(new RouteRequest { WorkloadClass = "customer_chat", EstimatedInputTokens = 100, MaxOutputTokens = 100, RequestId = "r" },
                deadline: DateTime.UtcNow.AddSeconds(10));
            Assert.NotEmpty(decision.EndpointId);
        }

        using var admin = new HttpClient { BaseAddress = node.AdminAddress };
        for (var i = 0; i < 3; i++)
        {
            using var ok = await admin.GetAsync("admin/v1/fleet");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var refused = await admin.GetAsync("admin/v1/fleet");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
    }

    [Fact]
    public async Task Invalid_limits_stop_the_node_at_start()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => SecurityNode.StartAsync(new NodeOptions(),
            builder => builder.Services.Configure<AdminRateLimitOptions>(o => o.TokensPerPeriod = 50)));

        Assert.Contains("AdminRateLimit:TokensPerPeriod must be between 1 and 40 (was 50).", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_are_20_per_second_burst_40_and_10_failed_authentications_per_minute()
    {
        var o = new AdminRateLimitOptions();

        Assert.True(new AdminRateLimitOptionsValidator().Validate(null, o).Succeeded);
        Assert.Equal((40, 20, TimeSpan.FromSeconds(1)), (o.PermitLimit, o.TokensPerPeriod, o.ReplenishmentPeriod));
        Assert.Equal((10, 10, TimeSpan.FromMinutes(1)), (o.FailedAuthenticationLimit, o.FailedAuthenticationTokensPerPeriod, o.FailedAuthenticationPeriod));
    }

    /// <summary>The failed-authentication bucket, on a small Kestrel app whose one route answers 401 unless the request
    /// carries <c>Authorization: Bearer good</c> (standing in for the node's authentication).</summary>
    [Fact]
    public async Task Failed_authentications_from_an_address_past_their_limit_lock_it_out_even_with_good_credentials()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddProblemDetails();
        builder.Services.AddAdminRateLimiting();
        builder.Services.Configure<AdminRateLimitOptions>(o =>
        {
            o.FailedAuthenticationLimit = 2;
            o.FailedAuthenticationTokensPerPeriod = 1;
            o.FailedAuthenticationPeriod = TimeSpan.FromHours(1);
        });
        await using var app = builder.Build();
        app.UseAdminRateLimiting();
        var reached = 0;
        app.MapGet("/x", (HttpContext context) =>
        {
            Interlocked.Increment(ref reached);
            return context.Request.Headers.Authorization == "Bearer good" ? Results.Ok() : Results.Unauthorized();
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        using var client = new HttpClient { BaseAddress = new Uri(address) };

        async Task<HttpResponseMessage> GetAsync(string token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/x");
            request.Headers.Add("Authorization", "Bearer " + token);
            return await client.SendAsync(request);
        }

        using (var good = await GetAsync("good"))
        {
            Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        }

        for (var i = 0; i < 2; i++)
        {
            using var bad = await GetAsync("guess" + i);
            Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        }

        using var lockedOut = await GetAsync("good");
        Assert.Equal(HttpStatusCode.TooManyRequests, lockedOut.StatusCode);
        Assert.NotNull(lockedOut.Headers.RetryAfter?.Delta);
        Assert.Equal(3, reached); // the refused request never reached the route
        await app.StopAsync();
    }
}
