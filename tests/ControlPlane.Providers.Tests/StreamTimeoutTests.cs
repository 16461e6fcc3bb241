using System.Diagnostics;
using System.Text;
using ControlPlane.Client;
using ControlPlane.Contracts.V1;
using ControlPlane.Providers.Tests.Support;

namespace ControlPlane.Providers.Tests;

/// <summary>A stream's bounds: the attempt's timeout only until the first event reaches the caller; after it, an idle
/// timeout between events and the caller's own token (deadline, connection).</summary>
public sealed class StreamTimeoutTests : IAsyncLifetime
{
    private PacedUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await PacedUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    [Fact]
    public async Task A_stream_that_keeps_producing_outlives_the_attempts_timeout()
    {
        // 12 chunks 150 ms apart: about 1.65 s in all. The attempt's timeout fires 300 ms after the first event reached
        // the caller (a timer started before the call could fire before the first event on a loaded machine, which is
        // the other test's case), so it always lands mid-stream.
        _upstream.Chunks = 12;
        _upstream.Interval = TimeSpan.FromMilliseconds(150);
        using var client = new ProviderClient(new ProviderClientOptions { StreamIdleTimeout = TimeSpan.FromSeconds(10) });
        using var attempt = new CancellationTokenSource();
        using var request = ChatRequest.FromPrompt("long answer", maxTokens: 64, stream: true);
        var written = new StringBuilder();
        var writtenAtTimeout = -1;
        using var atTimeout = attempt.Token.Register(() => Volatile.Write(ref writtenAtTimeout, written.Length));

        var answer = await client.StreamAsync(_upstream.Endpoint(), request, (bytes, _) =>
        {
            if (written.Length == 0)
            {
                attempt.CancelAfter(TimeSpan.FromMilliseconds(300));
            }

            written.Append(Encoding.UTF8.GetString(bytes.Span));
            return ValueTask.CompletedTask;
        }, attempt.Token, CancellationToken.None);

        Assert.True(attempt.IsCancellationRequested, "the attempt's timeout fired during the stream");
        Assert.InRange(Volatile.Read(ref writtenAtTimeout), 1, written.Length - 1);
        Assert.Equal(string.Concat(Enumerable.Range(0, 12).Select(i => $"t{i} ")), answer.Content);
        Assert.EndsWith("data: [DONE]\n\n", written.ToString(), StringComparison.Ordinal);
        Assert.True(answer.LatencyMs >= 1500, $"the real latency ({answer.LatencyMs} ms) is reported");
    }

    [Fact]
    public async Task The_attempts_timeout_still_bounds_the_time_to_the_first_event()
    {
        // The first chunk leaves at once but the test writer holds nothing back: here the attempt is cancelled first.
        _upstream.Chunks = 3;
        using var client = new ProviderClient();
        using var request = ChatRequest.FromPrompt("never mind", maxTokens: 8, stream: true);
        var written = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.StreamAsync(_upstream.Endpoint(), request, (_, _) =>
        {
            written++;
            return ValueTask.CompletedTask;
        }, new CancellationToken(canceled: true), CancellationToken.None));
        Assert.Equal(0, written);
    }

    [Fact]
    public async Task A_stream_that_stalls_is_cut_by_the_idle_timeout_as_a_final_timeout()
    {
        _upstream.StallAfterFirst = true;
        using var client = new ProviderClient(new ProviderClientOptions { StreamIdleTimeout = TimeSpan.FromMilliseconds(400) });
        using var request = ChatRequest.FromPrompt("stall", maxTokens: 64, stream: true);
        var events = 0;
        var clock = Stopwatch.StartNew();

        var failure = await Assert.ThrowsAsync<ProviderCallException>(() => client.StreamAsync(_upstream.Endpoint(), request, (_, _) =>
        {
            events++;
            return ValueTask.CompletedTask;
        }, CancellationToken.None, CancellationToken.None));

        Assert.Equal(OutcomeStatus.Timeout, failure.Status);
        Assert.True(failure.Final);
        Assert.Contains("idle timeout of 400 ms", failure.Message, StringComparison.Ordinal);
        Assert.Equal(1, events);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(400));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"cut after {clock.Elapsed}");
    }

    [Fact]
    public async Task The_callers_token_cuts_a_long_stream_that_keeps_producing()
    {
        // 200 chunks 100 ms apart (20 s); the caller's deadline is 800 ms, the idle timeout never fires.
        _upstream.Chunks = 200;
        _upstream.Interval = TimeSpan.FromMilliseconds(100);
        using var client = new ProviderClient(new ProviderClientOptions { StreamIdleTimeout = TimeSpan.FromSeconds(10) });
        using var caller = new CancellationTokenSource(TimeSpan.FromMilliseconds(800));
        using var request = ChatRequest.FromPrompt("endless", maxTokens: 64, stream: true);
        var events = 0;
        var clock = Stopwatch.StartNew();

        var failure = await Assert.ThrowsAsync<ProviderCallException>(() => client.StreamAsync(_upstream.Endpoint(), request, (_, _) =>
        {
            events++;
            return ValueTask.CompletedTask;
        }, caller.Token, caller.Token));

        Assert.Equal(OutcomeStatus.Timeout, failure.Status);
        Assert.True(failure.Final);
        Assert.Contains("caller's deadline", failure.Message, StringComparison.Ordinal);
        Assert.True(events >= 1);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"cut after {clock.Elapsed}");
    }

    [Theory]
    [InlineData(99)]
    [InlineData(600_001)]
    public void An_idle_timeout_out_of_range_is_refused_naming_the_option(int milliseconds)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new ProviderClientOptions { StreamIdleTimeout = TimeSpan.FromMilliseconds(milliseconds) }.Validate());
        Assert.Equal(nameof(ProviderClientOptions.StreamIdleTimeout), error.ParamName);
    }
}
