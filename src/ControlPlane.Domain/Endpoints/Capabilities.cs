namespace ControlPlane.Domain.Endpoints;

/// <summary>What a model endpoint can do; requests may require a set of these.</summary>
[Flags]
public enum Capabilities : uint
{
    /// <summary>Plain text completion only.</summary>
    None = 0,
    /// <summary>Tool / function calling.</summary>
    Tools = 1 << 0,
    /// <summary>Image input.</summary>
    Vision = 1 << 1,
    /// <summary>Guaranteed JSON output mode.</summary>
    JsonMode = 1 << 2,
    /// <summary>Token streaming.</summary>
    Streaming = 1 << 3,
    /// <summary>Structured outputs against a JSON schema.</summary>
    StructuredOutputs = 1 << 4,
    /// <summary>Extended reasoning / thinking tokens.</summary>
    Reasoning = 1 << 5,
    /// <summary>Audio input or output.</summary>
    Audio = 1 << 6,
}

/// <summary>Parsing of capability names as they appear in config files and on the wire.</summary>
public static class CapabilityNames
{
    /// <summary>Parses one snake_case name (<c>tools</c>, <c>vision</c>, <c>json_mode</c>, ...).</summary>
    public static bool TryParse(string name, out Capabilities capability)
    {
        capability = name switch
        {
            "tools" => Capabilities.Tools,
            "vision" => Capabilities.Vision,
            "json_mode" => Capabilities.JsonMode,
            "streaming" => Capabilities.Streaming,
            "structured_outputs" => Capabilities.StructuredOutputs,
            "reasoning" => Capabilities.Reasoning,
            "audio" => Capabilities.Audio,
            _ => Capabilities.None,
        };
        return capability != Capabilities.None;
    }
}
