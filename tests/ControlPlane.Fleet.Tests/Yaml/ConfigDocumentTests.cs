using static ControlPlane.Fleet.Tests.FleetYaml;

namespace ControlPlane.Fleet.Tests.Yaml;

public sealed class ConfigDocumentTests
{
    [Fact]
    public void Bad_indentation_is_a_syntax_error_at_its_line()
    {
        var errors = Errors(With((5, "      model: gpt-4o")));

        var error = Assert.Single(errors);
        Assert.Equal((5, ""), (error.Line, error.Field));
        Assert.StartsWith("YAML syntax error: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unclosed_flow_list_is_reported_at_its_opening_bracket()
    {
        string line = "    capabilities: [tools, vision";
        var errors = Errors(With((9, line)));

        Assert.Equal($"test.yaml:9:{Col(line, "[")}: YAML syntax error: this [ or {{ is not closed", Assert.Single(errors).ToString());
    }

    [Fact]
    public void Tab_indentation_is_a_syntax_error()
    {
        var errors = Errors(With((5, "\tmodel: gpt-4o")));

        var error = Assert.Single(errors);
        Assert.InRange(error.Line, 4, 5);
        Assert.StartsWith("YAML syntax error: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_alias_is_a_syntax_error()
    {
        var errors = Errors(With((42, "    slo: *missing")));

        Assert.Equal("test.yaml:42:10: YAML syntax error: unknown alias '*missing'", Assert.Single(errors).ToString());
    }

    [Fact]
    public void Only_one_document_is_allowed()
    {
        var errors = Errors(Base + "---\nendpoints: []\n");

        Assert.Equal("test.yaml:43:1: only one YAML document is allowed per fleet file", Assert.Single(errors).ToString());
    }

    [Fact]
    public void Root_must_be_a_mapping()
    {
        Assert.Equal("test.yaml:1:1: expected a mapping, got a list", Assert.Single(Errors("- endpoints\n")).ToString());
        Assert.Equal("test.yaml:1:1: expected a mapping, got 'endpoints'", Assert.Single(Errors("endpoints\n")).ToString());
    }

    [Fact]
    public void Deep_nesting_is_an_error_not_a_stack_overflow()
    {
        const int depth = 100_000;
        var errors = Errors("endpoints: " + new string('[', depth) + new string(']', depth) + "\n");

        var error = Assert.Single(errors);
        Assert.Equal(1, error.Line);
        Assert.Equal("YAML syntax error: nesting deeper than 64 levels", error.Message);
    }

    [Fact]
    public void Complex_mapping_keys_are_rejected()
    {
        var errors = Errors("? [a, b]\n: 1\n" + Base);

        Assert.Contains(errors, e => e.Line == 1 && e.Message.StartsWith("mapping keys must be plain names", StringComparison.Ordinal));
    }
}
