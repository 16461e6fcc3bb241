using ControlPlane.Grpc.Health;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace ControlPlane.Grpc.Tests.Server;

public sealed class HealthStatusRegistryTests
{
    [Fact]
    public void Whole_server_starts_SERVING_and_unknown_services_are_unknown()
    {
        var registry = new HealthStatusRegistry();

        Assert.True(registry.TryGetStatus("", out var status));
        Assert.Equal(ServingStatus.Serving, status);
        Assert.False(registry.TryGetStatus("other", out _));
    }

    [Fact]
    public void Slow_watcher_sees_the_latest_status_not_a_backlog()
    {
        var registry = new HealthStatusRegistry();
        using var watch = registry.Watch("svc");

        registry.SetStatus("svc", ServingStatus.Serving);
        registry.SetStatus("svc", ServingStatus.NotServing);
        registry.SetStatus("svc", ServingStatus.Serving);

        Assert.True(watch.Updates.TryRead(out var latest));
        Assert.Equal(ServingStatus.Serving, latest);
        Assert.False(watch.Updates.TryRead(out _));
    }

    [Fact]
    public void Shutdown_marks_everything_NOT_SERVING_completes_watchers_and_freezes_statuses()
    {
        var registry = new HealthStatusRegistry();
        registry.SetStatus("svc", ServingStatus.Serving);
        using var watch = registry.Watch("svc");
        Assert.True(watch.Updates.TryRead(out _));

        registry.Shutdown();
        registry.SetStatus("svc", ServingStatus.Serving);

        Assert.True(registry.IsShutDown);
        Assert.True(watch.Updates.TryRead(out var last));
        Assert.Equal(ServingStatus.NotServing, last);
        Assert.True(watch.Updates.Completion.IsCompleted);
        Assert.True(registry.TryGetStatus("svc", out var status));
        Assert.Equal(ServingStatus.NotServing, status);
    }

    [Fact]
    public void Disposed_watch_gets_no_more_updates()
    {
        var registry = new HealthStatusRegistry();
        var watch = registry.Watch("svc");
        Assert.True(watch.Updates.TryRead(out var initial));
        Assert.Equal(ServingStatus.ServiceUnknown, initial);

        watch.Dispose();
        registry.SetStatus("svc", ServingStatus.Serving);

        Assert.False(watch.Updates.TryRead(out _));
    }
}
