using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Client;
using ControlPlane.Contracts.V1;
using ControlPlane.Testing;
using Polly.Timeout;

namespace ControlPlane.Server.Tests.EndToEnd;

/// <summary>The client SDK against a real node.</summary>
public sealed class ClientSdkTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cp-sdk-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Executor_walks_the_fallback_chain_on_endpoint_failures_and_reports_every_attempt()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        using var client = new ControlPlaneClient(new Uri(node.GrpcAddress.ToString().TrimEnd('/')), new ControlPlaneClientOptions { ApiKey = TestCredentials.AdminKey });
        var reporter = new OutcomeReporter(client, new OutcomeReporterOptions { FlushInterval = TimeSpan.FromMilliseconds(20) });
        var executor = new RoutedExecutor(client, reporter);
        var tried = new List<RouteTarget>();

        var answer = await executor.ExecuteAsync(Chat(), (target, _) =>
        {
            tried.Add(target);
            return target.Attempt < 2
                ? throw new ProviderCallException(OutcomeStatus.ServerError, 503)
                : ValueTask.FromResult(new ProviderResult<string>($"answer from {target.EndpointId}", 900, 120));
        });

        Assert.Equal(3, tried.Count);
        Assert.Equal(tried[0].Decision.Fallbacks.Take(2), tried.Skip(1).Select(t => t.EndpointId));
        // Every attempt was routed by the node: its own attempt number, decision and reason.
        Assert.Equal([0, 1, 2], tried.Select(t => t.Attempt));
        Assert.Equal(3, tried.Select(t => t.Decision.DecisionId).Distinct().Count());
        Assert.All(tried.Skip(1), t => Assert.Equal("fallback_after_error", t.Decision.RouteReason));
        Assert.Equal($"answer from {tried[2].EndpointId}", answer);
        await reporter.DisposeAsync();
        // The node accepts every outcome: each belongs to the decision it was routed under.
        Assert.Equal(3, reporter.Sent);
        Assert.Equal(0, reporter.Rejected + reporter.Failed + reporter.Dropped);

        var failed = await PollAsync(node, $"admin/v1/endpoints/{tried[0].EndpointId}", e => e.GetProperty("health").GetProperty("failures").GetInt64() == 1);
        Assert.Equal(1, failed.GetProperty("health").GetProperty("failures").GetInt64());
    }

    [Fact]
    public async Task Attempts_share_the_callers_deadline_and_caller_faults_are_not_retried_elsewhere()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        using var client = new ControlPlaneClient(new Uri(node.GrpcAddress.ToString().TrimEnd('/')), new ControlPlaneClientOptions { ApiKey = TestCredentials.AdminKey });
        await using var reporter = new OutcomeReporter(client);
        var executor = new RoutedExecutor(client, reporter);

        await client.RouteAsync(Chat()); // connection and first-call costs out of the deadline below
        var attempts = 0;
        var request = Chat();
        request.DeadlineMs = 1_000;
        await Assert.ThrowsAsync<TimeoutRejectedException>(() => executor.ExecuteAsync<string>(request, async (target, token) =>
        {
            Interlocked.Increment(ref attempts);
            Assert.InRange(target.Decision.TimeoutMs, 1, 1_000);
            await Task.Delay(TimeSpan.FromMinutes(5), token);
            return new ProviderResult<string>("never", 0, 0);
        }));
        // The 1 s is the caller's for all attempts, not 1 s for each of four (the first attempt spends nearly all of
        // it; a second one, if any room is left, gets only the rest).
        Assert.InRange(attempts, 1, 2);

        var calls = 0;
        var refused = await Assert.ThrowsAsync<ProviderCallException>(() => executor.ExecuteAsync<string>(Chat(), (_, _) =>
        {
            calls++;
            throw new ProviderCallException(OutcomeStatus.ClientError, 400);
        }));
        Assert.Equal(1, calls);
        Assert.Equal(400, refused.HttpStatus);
    }

    [Fact]
    public async Task A_held_class_surfaces_as_NoRouteException_with_the_reason()
    {
        await using var node = await ControlPlaneNode.StartAsync(_dataDirectory);
        using var drain = new HttpRequestMessage(HttpMethod.Post, "admin/v1/endpoints/anthropic-sonnet-eu/drain")
        {
            Content = new StringContent("""{"reason":"sdk test"}""", Encoding.UTF8, "application/json"),
        };
        using (var response = await node.Admin.SendAsync(drain))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // A 5 s Route timeout, and a channel already connected: the first call's grpc-timeout is computed before the
        // connection (and, in a fresh test process, the HTTP/2 client's JIT), so the node's clock for it starts late
        // by that much, and a held call answered near its end could reach the client after its own deadline.
        using var client = new ControlPlaneClient(new Uri(node.GrpcAddress.ToString().TrimEnd('/')),
            new ControlPlaneClientOptions { ApiKey = TestCredentials.AdminKey, RouteTimeout = TimeSpan.FromSeconds(5) });
        await client.RouteAsync(Chat());
        await using var reporter = new OutcomeReporter(client);
        var executor = new RoutedExecutor(client, reporter);
        var held = await Assert.ThrowsAsync<NoRouteException>(() => executor.ExecuteAsync<string>(
            new RouteRequest { WorkloadClass = "legal_draft", EstimatedInputTokens = 1000, MaxOutputTokens = 500 },
            (_, _) => throw new InvalidOperationException("must not be called")));
        Assert.Equal("queue_only_hold", held.Decision.RouteReason);
    }

    private static RouteRequest Chat() => new() { WorkloadClass = "customer_chat", EstimatedInputTokens = 1000, MaxOutputTokens = 500 };

    private static async Task<JsonElement> PollAsync(ControlPlaneNode node, string path, Func<JsonElement, bool> done)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            var value = await node.Admin.GetFromJsonAsync<JsonElement>(path);
            if (done(value) || timeout.IsCancellationRequested)
            {
                return value;
            }

            await Task.Delay(20, CancellationToken.None);
        }
    }
}
