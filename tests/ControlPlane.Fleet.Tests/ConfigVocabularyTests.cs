using ControlPlane.Domain.Endpoints;

namespace ControlPlane.Fleet.Tests;

public sealed class ConfigVocabularyTests
{
    [Fact]
    public void Capability_names_cover_every_flag_once_and_parse_with_the_domain()
    {
        var seen = Capabilities.None;
        foreach (string name in ConfigVocabulary.CapabilityNamesInOrder)
        {
            Assert.True(CapabilityNames.TryParse(name, out var flag), name);
            Assert.Equal(Capabilities.None, seen & flag);
            seen |= flag;
        }

        var all = Enum.GetValues<Capabilities>().Aggregate(Capabilities.None, (a, b) => a | b);
        Assert.Equal(all, seen);
    }

    [Fact]
    public void Capabilities_format_as_config_names()
    {
        Assert.Equal("tools, json_mode, audio", ConfigVocabulary.Format(Capabilities.Audio | Capabilities.Tools | Capabilities.JsonMode));
    }

    [Theory]
    [InlineData("on_cal", "on_call")]
    [InlineData("modell", "model")]
    [InlineData("tpmm", "tpm")]
    public void Close_names_are_suggested(string typed, string expected)
    {
        Assert.Equal(expected, ConfigVocabulary.Suggest(typed, ["on_call", "model", "mode", "tpm", "rpm"]));
    }

    [Fact]
    public void A_name_missing_its_suffix_is_suggested_the_full_name()
    {
        Assert.Equal("openai-gpt41-us", ConfigVocabulary.Suggest("openai-gpt41", ["openai-gpt4o-us", "openai-gpt41-us"]));
    }

    [Fact]
    public void Distant_names_are_not_suggested()
    {
        Assert.Null(ConfigVocabulary.Suggest("colour", ["name", "owner", "mode"]));
        Assert.Null(ConfigVocabulary.Suggest("x", ["y"]));
    }
}
