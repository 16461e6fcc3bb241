using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Grains;

/// <summary>Nodes drop a pushed status older than the one they hold, so a published version must never go back, even
/// when storage is lost and a grain starts again from nothing.</summary>
public sealed class PublicationVersionTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 22, 3, 0, 0, TimeSpan.Zero));
    private readonly TestStorage _before = new();
    private readonly TestStorage _lost = new();

    [Fact]
    public async Task A_version_published_after_storage_loss_is_above_every_version_published_before()
    {
        long published;
        await using (var node = await ServiceNode.StartAsync(_time, _before))
        {
            // Many publications on one endpoint: each bumps its version.
            for (var i = 0; i < 20; i++)
            {
                await node.Admin.SetBreakerAsync("openai-gpt4o-us", new(i % 2 == 0 ? "open" : "closed", "flapping", null), TestActors.Named("alice"));
            }

            published = (await node.Admin.GetEndpointAsync("openai-gpt4o-us")).Version;
        }

        // The store is gone (a new, empty file); the restart took a moment of wall-clock time.
        _time.Advance(TimeSpan.FromSeconds(1));
        await using var restarted = await ServiceNode.StartAsync(_time, _lost);
        Assert.Null((await restarted.Admin.GetEndpointAsync("openai-gpt4o-us")).Override);

        var after = await restarted.Admin.SetBreakerAsync("openai-gpt4o-us", new("open", "incident", null), TestActors.Named("bob"));

        Assert.True(after.Version > published, $"version {after.Version} after the storage loss is not above {published}");
    }

    public void Dispose()
    {
        _before.Dispose();
        _lost.Dispose();
    }
}
