using System.Security.Cryptography;
using System.Text;

namespace ControlPlane.Prober.Tests;

/// <summary>The shipped golden set follows the simulator's grader-visible answer rule, and a malformed golden set is
/// refused with file:line:column.</summary>
public sealed class GoldenSetTests
{
    private static string ShippedPath => Path.Combine(AppContext.BaseDirectory, "golden.yaml");

    [Fact]
    public void The_shipped_golden_set_has_at_least_eight_prompts_each_expecting_the_simulators_correct_answer()
    {
        var golden = GoldenSet.Load(ShippedPath);
        Assert.True(golden.Count >= 8, $"{golden.Count} prompts");
        Assert.Equal(golden.Count, golden.Select(g => g.Id).Distinct().Count());
        foreach (var prompt in golden)
        {
            // The rule, computed here independently: answer: + 12 lowercase hex of SHA-256(UTF-8 prompt).
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(prompt.Prompt));
            var expected = "answer:" + string.Concat(hash.Take(6).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
            Assert.Equal(expected, prompt.Expect);
            Assert.True(prompt.Passes($"Sure. {expected}. Done."));
            var drifted = "answer:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("drift:" + prompt.Prompt)))[..12];
            Assert.False(prompt.Passes($"Sure. {drifted}. Done."));
        }
    }

    [Theory]
    [InlineData("- { id: a, prompt: p }\n", "golden.yaml:1:3: [0].expect: is required")]
    [InlineData("- { id: a, prompt: p, expect: e }\n- { id: a, prompt: q, expect: e }\n", "golden.yaml:2:3: [1].id: duplicate id 'a'")]
    [InlineData("- { id: a, prompt: p, expect: e, score: 1 }\n", "golden.yaml:1:34: [0]: unknown key 'score'; expected one of id, prompt, expect")]
    [InlineData("id: a\n", "golden.yaml:1:1: expected a list of { id, prompt, expect }")]
    [InlineData("- { id: a, prompt: [p], expect: e }\n", "golden.yaml:1:20: [0].prompt: expected a non-empty string")]
    [InlineData("- { id: 'a b', prompt: p, expect: e }\n", "golden.yaml:1:3: [0].id: use letters, digits, '-', '_' or '.'")]
    public void A_malformed_golden_set_is_refused_with_its_position(string yaml, string message)
    {
        var error = Assert.Throws<GoldenSetException>(() => GoldenSet.Parse(new StringReader(yaml), "golden.yaml"));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void An_oversized_expect_is_refused()
    {
        var yaml = $"- {{ id: a, prompt: p, expect: {new string('x', GoldenSet.MaxExpectChars + 1)} }}\n";
        var error = Assert.Throws<GoldenSetException>(() => GoldenSet.Parse(new StringReader(yaml), "golden.yaml"));
        Assert.Contains("[0].expect: at most 256 characters", error.Message, StringComparison.Ordinal);
    }
}
