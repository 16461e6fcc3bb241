using System.Net.Http.Json;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Security;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service.Security;
using ControlPlane.Testing;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Security;

/// <summary>The data plane's authorization fast path admits only what the standard pipeline admitted before with the
/// same key on this node, and never a key that lost its role, was revoked, or an endpoint with other authorization
/// metadata; the calls it does not admit get the standard pipeline's answers.</summary>
public sealed class DataPlaneAuthorizationTests
{
    [Fact]
    public void Only_endpoints_that_need_just_roles_are_fast_pathed()
    {
        Assert.Equal([["data-plane"], ["reporter", "admin"]],
            DataPlaneAuthorization.Requirements(Endpoint(new RequireRolesAttribute(Roles.DataPlane), new RequireRolesAttribute(Roles.Reporter, Roles.Admin))));
        Assert.Empty(DataPlaneAuthorization.Requirements(Endpoint())!);
        Assert.Null(DataPlaneAuthorization.Requirements(Endpoint(new RequireRolesAttribute(Roles.DataPlane), new AllowAnonymousAttribute())));
        Assert.Null(DataPlaneAuthorization.Requirements(Endpoint(new AuthorizeAttribute("some-policy"))));
        Assert.Null(DataPlaneAuthorization.Requirements(Endpoint(new RequireRolesAttribute(Roles.DataPlane), new AuthorizeAttribute { AuthenticationSchemes = "x" })));
        Assert.Null(DataPlaneAuthorization.Requirements(Endpoint(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())));
    }

    [Fact]
    public async Task A_key_verified_once_is_admitted_until_it_is_revoked_and_a_key_without_the_role_never_is()
    {
        await using var node = await ControlPlaneNode.StartInMemoryAsync();
        var fastPath = new DataPlaneAuthorization(node.Services.GetRequiredService<ApiKeyCache>());
        var route = node.Services.GetServices<EndpointDataSource>().SelectMany(s => s.Endpoints)
            .Single(e => e.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.Name == "Route");
        var proxy = await node.KeyForAsync("proxy-1", Roles.DataPlane);
        var viewer = await node.KeyForAsync("watcher", Roles.Viewer);

        // Not verified on this node yet: the standard pipeline first.
        Assert.False(fastPath.TryAuthorize(Call(route, proxy), onAdminPort: false));
        Assert.NotEmpty((await RouteAsync(node, proxy)).EndpointId);
        var admitted = Call(route, proxy);
        Assert.True(fastPath.TryAuthorize(admitted, onAdminPort: false));
        Assert.Equal("proxy-1", admitted.User.Identity!.Name);
        Assert.False(fastPath.TryAuthorize(Call(route, proxy), onAdminPort: true));
        Assert.False(fastPath.TryAuthorize(Call(route, proxy[..^1] + (proxy[^1] == 'A' ? 'B' : 'A')), onAdminPort: false));

        // The viewer's key is verified (on the admin API) but lacks data-plane: refused by the standard pipeline.
        using (var viewerClient = TestCredentials.Client(node.AdminAddress, viewer))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, (await viewerClient.GetAsync("admin/v1/whoami")).StatusCode);
        }

        Assert.False(fastPath.TryAuthorize(Call(route, viewer), onAdminPort: false));
        var denied = await Assert.ThrowsAsync<RpcException>(() => RouteAsync(node, viewer));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);

        using var revoked = await node.Admin.PostAsJsonAsync($"admin/v1/keys/{proxy.Split('_')[1]}/revoke", new { reason = "rotated" });
        revoked.EnsureSuccessStatusCode();
        var until = DateTime.UtcNow.AddSeconds(10);
        while (fastPath.TryAuthorize(Call(route, proxy), onAdminPort: false) && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }

        Assert.False(fastPath.TryAuthorize(Call(route, proxy), onAdminPort: false));
        var unauthenticated = await Assert.ThrowsAsync<RpcException>(() => RouteAsync(node, proxy));
        Assert.Equal(StatusCode.Unauthenticated, unauthenticated.StatusCode);
    }

    private static async Task<RouteDecision> RouteAsync(ControlPlaneNode node, string key) =>
        await node.Routing.RouteAsync(new RouteRequest { WorkloadClass = "customer_chat", EstimatedInputTokens = 100, MaxOutputTokens = 100, RequestId = "r" },
            new Metadata { { "authorization", $"Bearer {key}" } }, DateTime.UtcNow.AddSeconds(10));

    private static DefaultHttpContext Call(Endpoint endpoint, string key)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Authorization = $"Bearer {key}";
        context.SetEndpoint(endpoint);
        return context;
    }

    private static RouteEndpoint Endpoint(params object[] metadata) =>
        new(_ => Task.CompletedTask, RoutePatternFactory.Parse("/x"), 0, new EndpointMetadataCollection(metadata), "x");
}
