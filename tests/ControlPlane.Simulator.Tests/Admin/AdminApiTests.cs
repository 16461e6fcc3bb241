using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ControlPlane.Simulator.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Simulator.Tests.Admin;

/// <summary>The admin API: listings, the scenario clock, clearing faults, the upstreams file, and hostile input.</summary>
public sealed class AdminApiTests
{
    [Theory]
    [InlineData("{bad json", null)]
    [InlineData("[]", null)]
    [InlineData("""{"endpoint":"ep-openai","kind":"outage","colour":"red"}""", "colour")]
    [InlineData("""{"endpoint":"ep-openai","kind":"outage","share":[1]}""", "share")]
    [InlineData("""{"kind":"outage"}""", "endpoint")]
    [InlineData("""{"endpoint":"ep-nope","kind":"outage"}""", "endpoint")]
    [InlineData("""{"endpoint":"ep-openai","kind":"meltdown"}""", "kind")]
    [InlineData("""{"endpoint":"ep-openai","kind":"outage","mode":"http_502"}""", "mode")]
    [InlineData("""{"endpoint":"ep-openai","kind":"latency","factor":"5"}""", "factor")]
    [InlineData("""{"endpoint":"ep-openai","kind":"latency","factor":1e400}""", "factor")]
    [InlineData("""{"endpoint":"ep-openai","kind":"rate_limit","start":"-5s"}""", "start")]
    [InlineData("""{"endpoint":"ep-openai","kind":"rate_limit","start":"10s","end":"5s"}""", "end")]
    [InlineData("""{"endpoint":"ep-openai","kind":"rate_limit","tpm":1.5}""", "tpm")]
    [InlineData("""{"endpoint":"ep-openai","kind":"rate_limit","retry_after":"99999h"}""", "retry_after")]
    [InlineData("""{"endpoint":"ep-openai","kind":"outage","factor":3}""", "factor")]
    public async Task BadFaultsGet400NamingTheFieldAndChangeNothing(string body, string? field)
    {
        await using var run = await SimRun.StartAsync();
        using var response = await run.Http.PostAsync(new Uri(run.Host.AdminUri, "/sim/v1/faults"), new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        if (field is not null)
        {
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        }

        Assert.Equal(0, (await run.AdminGetAsync("/sim/v1/faults")).GetProperty("faults").GetArrayLength());
        await run.ChatAsync("ep-openai", "still fine");
    }

    [Fact]
    public async Task OversizedAdminBodiesAreRefused()
    {
        await using var run = await SimRun.StartAsync();
        string body = "{\"endpoint\":\"" + new string('a', 100_000) + "\"}";
        using var response = await run.Http.PostAsync(new Uri(run.Host.AdminUri, "/sim/v1/faults"), new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(0, (await run.AdminGetAsync("/sim/v1/faults")).GetProperty("faults").GetArrayLength());
    }

    [Fact]
    public async Task HeldClockStartsOnRequestAndPlaysTheScenarioFromThen()
    {
        const string scenario = """
            name: timed
            faults:
              - { endpoint: ep-openai, kind: outage, mode: http_500, start: 30s, end: 90s }
            """;
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        await using var run = await SimRun.StartAsync(scenario, o =>
        {
            o.TimeProvider = time;
            o.Hold = true;
        });

        time.Advance(TimeSpan.FromSeconds(40));
        await run.ChatAsync("ep-openai", "held: no fault yet");
        Assert.Equal(JsonValueKind.Null, (await run.AdminGetAsync("/sim/v1/clock")).GetProperty("clock_started_at").ValueKind);

        using (var started = await run.Http.PostAsync(new Uri(run.Host.AdminUri, "/sim/v1/clock/start"), null))
        {
            Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        }

        var faults = (await run.AdminGetAsync("/sim/v1/faults")).GetProperty("faults");
        Assert.Equal("pending", faults[0].GetProperty("state").GetString());
        Assert.True(faults[0].GetProperty("from_scenario").GetBoolean());

        time.Advance(TimeSpan.FromSeconds(29));
        await run.ChatAsync("ep-openai", "not yet");
        time.Advance(TimeSpan.FromSeconds(1));
        using (var failed = await run.PostAsync("ep-openai", SimRun.ChatBody("now")))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        }

        Assert.Equal("active", (await run.AdminGetAsync("/sim/v1/faults")).GetProperty("faults")[0].GetProperty("state").GetString());
        time.Advance(TimeSpan.FromSeconds(60));
        await run.ChatAsync("ep-openai", "over");
        var stats = await run.StatsAsync("ep-openai");
        Assert.Equal(4, stats.GetProperty("requests").GetInt64());
        Assert.Equal(1, stats.GetProperty("during_fault").GetInt64());
    }

    [Fact]
    public async Task DeleteClearsFaultsAndReopensRefusedPorts()
    {
        await using var run = await SimRun.StartAsync();
        await run.PostFaultAsync(new { endpoint = "ep-mini", kind = "outage", mode = "refused" });
        await run.PostFaultAsync(new { endpoint = "ep-openai", kind = "outage", mode = "http_503", start = "1h" });
        Assert.Equal(SocketError.ConnectionRefused, await SimRun.ConnectAsync(run.Endpoint("ep-mini")));
        Assert.Equal(2, (await run.AdminGetAsync("/sim/v1/faults")).GetProperty("faults").GetArrayLength());

        using (var cleared = await run.Http.DeleteAsync(new Uri(run.Host.AdminUri, "/sim/v1/faults")))
        {
            Assert.Equal(HttpStatusCode.NoContent, cleared.StatusCode);
        }

        Assert.Equal(0, (await run.AdminGetAsync("/sim/v1/faults")).GetProperty("faults").GetArrayLength());
        Assert.Null(await SimRun.ConnectAsync(run.Endpoint("ep-mini")));
        await run.ChatAsync("ep-mini", "back");
    }

    [Fact]
    public async Task UpstreamsFileAndEndpointListingNameEveryEndpointWithItsOwnPort()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sim-upstreams-" + Guid.NewGuid().ToString("N"));
        string path = Path.Combine(dir, "upstreams.json");
        try
        {
            await using var run = await SimRun.StartAsync(configure: o => o.UpstreamsOut = path);
            var endpoints = JsonDocument.Parse(await File.ReadAllTextAsync(path)).RootElement.GetProperty("endpoints");
            Assert.Equal(["ep-openai", "ep-anthropic", "ep-mini"], endpoints.EnumerateObject().Select(p => p.Name));
            var anthropic = endpoints.GetProperty("ep-anthropic");
            Assert.Equal("anthropic", anthropic.GetProperty("api").GetString());
            Assert.Equal("anthropic", anthropic.GetProperty("provider").GetString());
            Assert.Equal("claude-sonnet-4", anthropic.GetProperty("model").GetString());
            Assert.Equal("claude-sonnet-4-20250514", anthropic.GetProperty("model_version").GetString());
            Assert.Equal("openai", endpoints.GetProperty("ep-mini").GetProperty("api").GetString());
            var urls = endpoints.EnumerateObject().Select(p => new Uri(p.Value.GetProperty("url").GetString()!)).ToList();
            Assert.Equal(3, urls.Select(u => u.Port).Distinct().Count());
            Assert.All(urls, u => Assert.Equal("127.0.0.1", u.Host));
            Assert.Equal(run.Endpoint("ep-mini"), urls[2]);

            var listed = (await run.AdminGetAsync("/sim/v1/endpoints")).GetProperty("endpoints");
            Assert.Equal(3, listed.GetArrayLength());
            Assert.All(listed.EnumerateArray(), e => Assert.True(e.GetProperty("listening").GetBoolean()));
            Assert.Equal(path, run.Host.WriteUpstreams(path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task HostStatsAndClockMatchTheAdminApi()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        await using var run = await SimRun.StartAsync("name: c\nfaults:\n  - { endpoint: ep-mini, kind: outage, start: 10s }", o =>
        {
            o.TimeProvider = time;
            o.Hold = true;
        });
        await run.ChatAsync("ep-mini", "one");
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(time.GetUtcNow(), await run.Host.StartClockAsync(CancellationToken.None));
        time.Advance(TimeSpan.FromSeconds(10));
        using (var failed = await run.PostAsync("ep-mini", SimRun.ChatBody("two")))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        }

        var stats = run.Host.GetStats()["ep-mini"];
        var overHttp = await run.StatsAsync("ep-mini");
        Assert.Equal((2L, 1L, 1L, 1L), (stats.Requests, stats.ByStatus["200"], stats.ByStatus["500"], stats.DuringFault));
        Assert.Equal(overHttp.GetProperty("output_tokens").GetInt64(), stats.OutputTokens);
        Assert.Equal(overHttp.GetProperty("requests").GetInt64(), stats.Requests);
    }

    [Fact]
    public async Task ListeningOnEveryAddressPublishesLoopbackUrls()
    {
        await using var run = await SimRun.StartAsync(configure: o => o.Host = "0.0.0.0");
        Assert.All(run.Host.EndpointUris.Values, u => Assert.Equal("127.0.0.1", u.Host));
        await run.ChatAsync("ep-anthropic", "any address");
    }
}
