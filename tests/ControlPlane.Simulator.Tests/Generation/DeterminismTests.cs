using System.Text.Json;
using ControlPlane.Simulator.Generation;
using ControlPlane.Simulator.Scenario;
using ControlPlane.Simulator.Tests.Support;

namespace ControlPlane.Simulator.Tests.Generation;

/// <summary>The same seed and the same requests per endpoint give the same answers, lengths and fault shares.</summary>
public sealed class DeterminismTests
{
    private const string DriftHalf = """
        name: half-drift
        faults:
          - { endpoint: ep-openai, kind: quality_drift, share: 0.5 }
        """;

    [Fact]
    public async Task SameSeedSameRequestsGiveTheSameAnswersWhateverOtherEndpointsServe()
    {
        var first = await RunAsync(seed: 42, interleaveOtherEndpoint: false);
        var second = await RunAsync(seed: 42, interleaveOtherEndpoint: true);
        var other = await RunAsync(seed: 43, interleaveOtherEndpoint: false);

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
        // Both answers occur at share 0.5, and exactly where the endpoint's generator says.
        var random = RequestDraw.CreateRandom(42, "ep-openai");
        var predicted = Enumerable.Range(0, first.Count).Select(_ => RequestDraw.Next(random).Shares[(int)FaultKind.QualityDrift] < 0.5).ToList();
        Assert.Equal(predicted, first.Select(a => a.Drifted).ToList());
        Assert.Contains(true, predicted);
        Assert.Contains(false, predicted);
    }

    [Fact]
    public async Task ContextWindowShareHitsExactlyTheRequestsTheGeneratorPicks()
    {
        const string scenario = """
            name: ctx
            faults:
              - { endpoint: ep-mini, kind: context_window, share: 0.3 }
            """;
        await using var run = await SimRun.StartAsync(scenario, o => o.Seed = 5);
        var random = RequestDraw.CreateRandom(5, "ep-mini");
        var statuses = new List<int>();
        var predicted = new List<int>();
        for (int i = 0; i < 30; i++)
        {
            using var response = await run.PostAsync("ep-mini", SimRun.ChatBody("q" + i));
            statuses.Add((int)response.StatusCode);
            predicted.Add(RequestDraw.Next(random).Shares[(int)FaultKind.ContextWindow] < 0.3 ? 400 : 200);
        }

        Assert.Equal(predicted, statuses);
        Assert.InRange(statuses.Count(s => s == 400), 3, 20);
    }

    [Theory]
    [InlineData("gpt-4.1-mini", 250, 150)]
    [InlineData("gemini-2.0-flash", 250, 150)]
    [InlineData("claude-3-5-haiku", 250, 150)]
    [InlineData("gemini-2.5-pro", 900, 45)]
    [InlineData("claude-opus-4", 900, 45)]
    [InlineData("gpt-4o", 450, 80)]
    [InlineData("claude-sonnet-4", 450, 80)]
    public void ModelFamiliesSetTheLatencyMedians(string model, double ttftMs, double tokensPerSecond)
    {
        var latency = LatencyModel.For(model, null);
        Assert.Equal((ttftMs, tokensPerSecond), (latency.TtftMedianMs, latency.TokensPerSecond));
        Assert.Equal(TimeSpan.FromMilliseconds(ttftMs), latency.Ttft(0));
        Assert.True(latency.Ttft(1) > latency.Ttft(0) && latency.Ttft(0) > latency.Ttft(-1));
        var overridden = LatencyModel.For(model, new LatencyOverride(50, null));
        Assert.Equal((50.0, tokensPerSecond), (overridden.TtftMedianMs, overridden.TokensPerSecond));
    }

    [Fact]
    public void EndpointGeneratorsDependOnSeedAndEndpointOnly()
    {
        static double[] Sequence(int seed, string id)
        {
            var random = RequestDraw.CreateRandom(seed, id);
            return [.. Enumerable.Range(0, 5).Select(_ => RequestDraw.Next(random).TtftZ)];
        }

        Assert.Equal(Sequence(5, "ep-a"), Sequence(5, "ep-a"));
        Assert.NotEqual(Sequence(5, "ep-a"), Sequence(5, "ep-b"));
        Assert.NotEqual(Sequence(5, "ep-a"), Sequence(6, "ep-a"));
    }

    private static async Task<List<(string Content, long Output, bool Drifted)>> RunAsync(int seed, bool interleaveOtherEndpoint)
    {
        await using var run = await SimRun.StartAsync(DriftHalf, o => o.Seed = seed);
        var answers = new List<(string, long, bool)>();
        for (int i = 0; i < 24; i++)
        {
            if (interleaveOtherEndpoint)
            {
                await run.ChatAsync("ep-mini", "noise " + i);
            }

            string prompt = "question " + i;
            JsonElement answer = await run.ChatAsync("ep-openai", prompt);
            string content = answer.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
            bool drifted = content.Contains(AnswerText.Drifted(prompt), StringComparison.Ordinal);
            Assert.True(drifted ^ content.Contains(AnswerText.Expected(prompt), StringComparison.Ordinal));
            answers.Add((content, answer.GetProperty("usage").GetProperty("completion_tokens").GetInt64(), drifted));
        }

        return answers;
    }
}
