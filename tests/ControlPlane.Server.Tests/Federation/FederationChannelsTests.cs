using System.Net;
using ControlPlane.Service.Federation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Tests.Federation;

/// <summary><see cref="FederationChannels"/>: one lazily created channel per peer, the bearer credential on every call.</summary>
public sealed class FederationChannelsTests
{
    [Fact]
    public async Task Every_call_carries_the_credential_and_a_peer_has_one_channel()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var app = builder.Build();
        app.Run(context =>
        {
            seen.Enqueue(context.Request.Headers.Authorization.ToString());
            context.Response.ContentType = "application/grpc";
            context.Response.AppendTrailer("grpc-status", "12");
            return Task.CompletedTask;
        });
        await app.StartAsync();
        var address = new Uri(app.Urls.First());
        var options = new FederationOptions { Region = "us-east", Credential = "cpk_secret" };
        options.Peers["eu-west"] = address;
        using var channels = new FederationChannels(Options.Create(options));

        var channel = channels.For("eu-west");
        Assert.Same(channel, channels.For("eu-west"));
        var client = new ControlPlane.Contracts.V1.Federation.FederationClient(channel);
        var e = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(async () => await client.ForwardOutcomesAsync(new()));
        Assert.Equal(global::Grpc.Core.StatusCode.Unimplemented, e.StatusCode);
        await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(async () => await client.ForwardOutcomesAsync(new()));

        Assert.Equal(["Bearer cpk_secret", "Bearer cpk_secret"], seen);
        Assert.Throws<ArgumentException>(() => channels.For("ap-south"));
        await app.StopAsync();
    }
}
