using static ControlPlane.Fleet.Tests.FleetYaml;

namespace ControlPlane.Fleet.Tests;

/// <summary>A class's <c>regulated: true|false</c>: its policy changes need a compliance approval too.</summary>
public sealed class RegulatedClassTests
{
    [Fact]
    public void A_class_is_unregulated_unless_marked()
    {
        Assert.True(Load(Base).TryGetClass("legal", out var legal));

        Assert.False(legal.Regulated);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("false", false)]
    public void Regulated_takes_a_yaml_boolean(string value, bool expected)
    {
        Assert.True(Load(With((38, $"    owner: legal-tech\n    regulated: {value}"))).TryGetClass("legal", out var legal));

        Assert.Equal(expected, legal.Regulated);
    }

    [Theory]
    [InlineData("yes", "'yes'")]
    [InlineData("\"true\"", "the string 'true'")]
    [InlineData("1", "'1'")]
    public void Anything_else_is_an_error_naming_the_field(string value, string described)
    {
        string line = $"    regulated: {value}";

        var error = Assert.Single(Errors(With((38, $"    owner: legal-tech\n{line}"))));

        Assert.Equal($"test.yaml:39:{Col(line, value)}: classes.legal.regulated: expected true or false, got {described}", error.ToString());
    }
}
