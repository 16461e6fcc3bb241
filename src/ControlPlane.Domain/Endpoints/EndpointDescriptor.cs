namespace ControlPlane.Domain.Endpoints;

/// <summary>The catalog entry of one provider endpoint: a pinned model version at a provider, in a region.</summary>
public sealed record EndpointDescriptor
{
    /// <summary>Stable id, e.g. <c>openai-gpt4o-2024-08-06-us</c>.</summary>
    public required string Id { get; init; }
    /// <summary>Provider name, e.g. <c>openai</c>.</summary>
    public required string Provider { get; init; }
    /// <summary>Model family name, e.g. <c>gpt-4o</c>.</summary>
    public required string Model { get; init; }
    /// <summary>The pinned model version.</summary>
    public string ModelVersion { get; init; } = "";
    /// <summary>Region, e.g. <c>us-east</c>.</summary>
    public string Region { get; init; } = "";
    /// <summary>Context window in tokens.</summary>
    public int ContextWindow { get; init; } = 128_000;
    /// <summary>Capabilities the endpoint offers.</summary>
    public Capabilities Capabilities { get; init; }
    /// <summary>Price in USD per 1,000 input tokens.</summary>
    public decimal PricePer1kInput { get; init; }
    /// <summary>Price in USD per 1,000 output tokens.</summary>
    public decimal PricePer1kOutput { get; init; }
    /// <summary>Provider limit in tokens per minute; 0 means unlimited.</summary>
    public long TokensPerMinute { get; init; }
    /// <summary>Provider limit in requests per minute; 0 means unlimited.</summary>
    public long RequestsPerMinute { get; init; }
}
