using ControlPlane.Domain.Policy;

namespace ControlPlane.Fleet.Tests;

/// <summary>
/// Loading is all or nothing: for any damaged copy of the sample, the loader either returns a definition in which every
/// reference resolves and every policy validates, or throws one <see cref="FleetConfigException"/> whose errors all
/// point into the file. Never another exception, never a definition with a dangling piece.
/// </summary>
public sealed class AllOrNothingTests
{
    private const int RandomMutants = 400;
    private static readonly string[] SampleLines = File.ReadAllLines(FleetSampleTests.SamplePath);

    [Fact]
    public void Removing_any_line_of_the_sample_loads_whole_or_fails_with_located_errors()
    {
        for (int i = 0; i < SampleLines.Length; i++)
        {
            AssertWholeOrLocated(SampleLines.Where((_, j) => j != i), $"without line {i + 1}");
        }
    }

    [Fact]
    public void Truncating_the_sample_at_any_line_loads_whole_or_fails_with_located_errors()
    {
        for (int i = 0; i < SampleLines.Length; i++)
        {
            AssertWholeOrLocated(SampleLines.Take(i), $"first {i} lines");
        }
    }

    [Fact]
    public void Random_character_damage_loads_whole_or_fails_with_located_errors()
    {
        var random = new Random(20261122);
        string sample = string.Join('\n', SampleLines);
        const string alphabet = "-:[]{},#&*!|>'\"% \t\n0123456789abcxyz_.";
        int failures = 0;
        for (int n = 0; n < RandomMutants; n++)
        {
            var chars = sample.ToCharArray();
            int edits = random.Next(1, 4);
            for (int k = 0; k < edits; k++)
            {
                chars[random.Next(chars.Length)] = alphabet[random.Next(alphabet.Length)];
            }

            failures += AssertWholeOrLocated(new string(chars).Split('\n'), $"mutant {n}") ? 0 : 1;
        }

        // Most damage must be caught; a damaged comment or description can legitimately still load.
        Assert.True(failures > RandomMutants / 2, $"only {failures} of {RandomMutants} mutants were rejected");
    }

    /// <summary>True when the text loaded.</summary>
    private static bool AssertWholeOrLocated(IEnumerable<string> lines, string what)
    {
        var text = lines.ToArray();
        FleetDefinition fleet;
        try
        {
            fleet = FleetLoader.Load(new StringReader(string.Join('\n', text)), "sample.yaml");
        }
        catch (FleetConfigException e)
        {
            Assert.NotEmpty(e.Errors);
            Assert.All(e.Errors, error =>
            {
                Assert.Equal("sample.yaml", error.Source);
                Assert.InRange(error.Line, 1, Math.Max(text.Length, 1) + 1);
                Assert.True(error.Column >= 1, $"{what}: {error}");
                Assert.False(string.IsNullOrWhiteSpace(error.Message), what);
            });
            return false;
        }

        Assert.NotEmpty(fleet.Endpoints);
        Assert.NotEmpty(fleet.Classes);
        Assert.Equal(fleet.Endpoints.Length, fleet.Catalog.Count);
        foreach (var endpoint in fleet.Endpoints)
        {
            Assert.True(endpoint.Descriptor.ContextWindow > 0, what);
            Assert.True(endpoint.Deprecation?.MigrateTo is null || fleet.Catalog.ContainsKey(endpoint.Deprecation.MigrateTo), what);
        }

        foreach (var workloadClass in fleet.Classes)
        {
            Assert.Empty(PolicyValidator.Validate(workloadClass.Policy, fleet.Catalog));
            Assert.All(workloadClass.Policy.Prohibited, id => Assert.True(fleet.Catalog.ContainsKey(id), what));
            Assert.InRange(workloadClass.Slo.Availability, double.Epsilon, 1 - 1e-12);
        }

        return true;
    }
}
