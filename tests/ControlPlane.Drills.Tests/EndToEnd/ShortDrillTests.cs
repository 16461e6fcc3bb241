using System.Text.Json;
using ControlPlane.Drills.Stack;
using ControlPlane.Drills.Tests.Support;
using ControlPlane.Server.Drills;
using Xunit.Abstractions;

namespace ControlPlane.Drills.Tests.EndToEnd;

/// <summary>The CI short drills: the same runner as <c>controlplane drill NAME --short</c> (an embedded node, the
/// simulator and one proxy in process), judged from the summary.json it writes. About 2 minutes each.</summary>
public sealed class ShortDrillTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("outage")]
    [InlineData("rate-limit")]
    [InlineData("quality-drift")]
    public async Task Short_drill_routes_around_the_fault_and_keeps_the_hard_targets(string scenario)
    {
        var outDir = Directory.CreateTempSubdirectory("drill-test-").FullName;
        try
        {
            var log = new StringWriter();
            var runner = new DrillRunner(DrillStack.Create(EmbeddedDrillControlPlane.StartAsync), log, interactive: false);
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            var summary = await runner.RunAsync(new DrillRunOptions
            {
                ScenarioPath = Fixtures.Scenario(scenario),
                FleetPath = Fixtures.FleetPath,
                OutputDirectory = outDir,
                Short = true,
            }, timeout.Token);
            output.WriteLine(log.ToString());

            var folder = Path.Combine(outDir, scenario);
            Assert.True(File.Exists(Path.Combine(folder, "report.html")));
            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "summary.json")));
            var targets = json.RootElement.GetProperty("targets").EnumerateArray()
                .Select(t => (Target: t.GetProperty("target").GetString()!, Verdict: t.GetProperty("verdict").GetString()!, Detail: t.GetProperty("detail").GetString()!))
                .ToList();
            foreach (var t in targets)
            {
                output.WriteLine($"{t.Verdict} {t.Target}: {t.Detail}");
            }

            // Every target line of the issue holds, and the run fails when one is missed: the fault moved traffic
            // within 30 s, legal_draft never left its primary, the budgets held, the recovered primary took its share
            // back within cooldown + ramp (the node's in-flight counts keep both customer_chat primaries in
            // power-of-two-choices), and customer_chat kept 99.5 % (a stream is bounded by its first event, then by an
            // idle timeout, so a slow machine no longer cuts healthy streams mid-answer; docs/drills.md "Known issues").
            var chat = json.RootElement.GetProperty("classes").EnumerateArray().Single(c => c.GetProperty("class").GetString() == "customer_chat");
            output.WriteLine($"customer_chat: {chat}");
            Assert.Equal("PASS", targets.Single(t => t.Target == "route_around").Verdict);
            Assert.Equal("PASS", targets.Single(t => t.Target == "legal_draft_primary_only").Verdict);
            Assert.Equal("PASS", targets.Single(t => t.Target == "budgets").Verdict);
            Assert.Equal("PASS", targets.Single(t => t.Target == "recovery").Verdict);
            Assert.Equal("PASS", targets.Single(t => t.Target == "customer_chat_availability").Verdict);
            Assert.True(chat.GetProperty("availability").GetDouble() >= 0.995, $"customer_chat availability {chat.GetProperty("availability").GetDouble():P2}");
            Assert.All(targets, t => Assert.Equal("PASS", t.Verdict));
            Assert.True(summary.Pass);
            Assert.True(json.RootElement.GetProperty("pass").GetBoolean());
            var incident = json.RootElement.GetProperty("incidents")[0];
            Assert.True(incident.TryGetProperty("detect_seconds", out _), "the breaker (or 429 cooling) was never seen acting on the faulty endpoint");
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }
}
