using ControlPlane.Client.Tests.Support;
using ControlPlane.Contracts.V1;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Client.Tests;

/// <summary><see cref="OutcomeReporter"/> against a real node. The flush interval runs on a fake clock, so a batch
/// closes only when it is full, when the test advances time, or on dispose.</summary>
public sealed class OutcomeReporterTests
{
    private readonly FakeTimeProvider _time = new();

    private static Outcome Numbered(int i) => new() { EndpointId = $"ep-{i}", Status = OutcomeStatus.Success };

    [Fact]
    public async Task Full_batches_go_at_once_and_the_rest_goes_on_dispose()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        var reporter = new OutcomeReporter(client, new OutcomeReporterOptions { MaxBatchSize = 10 }, _time);

        for (var i = 0; i < 25; i++)
        {
            Assert.True(reporter.Enqueue(Numbered(i)));
        }

        await Eventually.TrueAsync(() => reporter.Sent == 20, "two full batches acknowledged");
        Assert.Equal([10, 10], node.Routing.Batches.Select(b => b.Request.Count));
        await reporter.DisposeAsync();

        Assert.Equal([10, 10, 5], node.Routing.Batches.Select(b => b.Request.Count));
        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"ep-{i}"), node.Routing.AllOutcomes.Select(o => o.EndpointId));
        Assert.Equal((25L, 0L, 0L, 0L), (reporter.Sent, reporter.Rejected, reporter.Failed, reporter.Dropped));
        Assert.False(reporter.Enqueue(Numbered(99)));
    }

    [Fact]
    public async Task A_partial_batch_goes_when_the_flush_interval_passes()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        await using var reporter = new OutcomeReporter(client, new OutcomeReporterOptions { FlushInterval = TimeSpan.FromMilliseconds(100) }, _time);

        reporter.Enqueue(Numbered(0));
        reporter.Enqueue(Numbered(1));
        reporter.Enqueue(Numbered(2));
        // The batch window opens when the loop takes the first outcome; advancing until the batch leaves covers the
        // case where the loop has not opened it yet.
        await Eventually.TrueAsync(() =>
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            return reporter.Sent == 3;
        }, "the batch flushed by the interval");

        Assert.Equal(3, Assert.Single(node.Routing.Batches).Request.Count);
    }

    [Fact]
    public async Task Beyond_its_capacity_the_reporter_keeps_the_newest_and_counts_the_dropped()
    {
        await using var node = await RoutingNode.StartAsync();
        var firstBatchHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        node.Routing.OnBatch = async batch =>
        {
            if (batch[0].EndpointId == "ep-0")
            {
                firstBatchHeld.SetResult();
                await release.Task;
            }
        };
        using var client = new ControlPlaneClient(node.Address);
        var reporter = new OutcomeReporter(client, new OutcomeReporterOptions { MaxBatchSize = 1, Capacity = 100 }, _time);

        reporter.Enqueue(Numbered(0));
        await firstBatchHeld.Task.WaitAsync(TimeSpan.FromSeconds(30)); // the loop now waits on the node, not the buffer
        for (var i = 1; i <= 105; i++)
        {
            Assert.True(reporter.Enqueue(Numbered(i)));
        }

        Assert.Equal(5, reporter.Dropped);
        release.SetResult();
        await reporter.DisposeAsync();

        Assert.Equal(101, reporter.Sent);
        Assert.Equal(0, reporter.Failed);
        Assert.Equal(["ep-0", .. Enumerable.Range(6, 100).Select(i => $"ep-{i}")], node.Routing.AllOutcomes.Select(o => o.EndpointId));
    }

    [Fact]
    public async Task A_failed_batch_is_counted_not_thrown_and_not_resent()
    {
        await using var node = await RoutingNode.StartAsync();
        node.Routing.BatchAnswers.Enqueue(ScriptedRouting.Fail<IReadOnlyList<Outcome>, OutcomeAck>(StatusCode.Unavailable));
        using var client = new ControlPlaneClient(node.Address);
        var reporter = new OutcomeReporter(client, new OutcomeReporterOptions { MaxBatchSize = 4 }, _time);

        for (var i = 0; i < 6; i++)
        {
            reporter.Enqueue(Numbered(i));
        }

        await reporter.DisposeAsync();

        Assert.Equal((2L, 4L), (reporter.Sent, reporter.Failed));
        Assert.Equal([4, 2], node.Routing.Batches.Select(b => b.Request.Count));
    }

    [Fact]
    public async Task Outcomes_the_node_rejects_are_counted_as_rejected()
    {
        await using var node = await RoutingNode.StartAsync();
        using var client = new ControlPlaneClient(node.Address);
        var reporter = new OutcomeReporter(client, time: _time);

        reporter.Enqueue(Numbered(0));
        reporter.Enqueue(new Outcome { EndpointId = "ep-x" }); // no status: the scripted node rejects it
        await reporter.DisposeAsync();

        Assert.Equal((1L, 1L), (reporter.Sent, reporter.Rejected));
    }
}
