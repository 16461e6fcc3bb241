namespace ControlPlane.Providers;

/// <summary>The HTTP shape an upstream speaks.</summary>
public enum UpstreamApi
{
    /// <summary>OpenAI-compatible <c>POST /v1/chat/completions</c> (OpenAI, Google's and vLLM's compatible fronts).</summary>
    OpenAi,

    /// <summary>Anthropic <c>POST /v1/messages</c>.</summary>
    Anthropic,
}

/// <summary>One endpoint of the upstreams file: where the fleet endpoint <see cref="Id"/> is reached and how.</summary>
/// <param name="Id">The fleet endpoint id (what Route answers).</param>
/// <param name="BaseUrl">The provider's base address (e.g. <c>http://127.0.0.1:18001</c>); the API path is appended.</param>
/// <param name="Api">The request and response shape.</param>
/// <param name="Provider">The provider name (informational).</param>
/// <param name="Model">The model name sent upstream in the request's <c>model</c> field.</param>
/// <param name="ModelVersion">The pinned model version (informational; the served one is read from the answer).</param>
public sealed record UpstreamEndpoint(string Id, Uri BaseUrl, UpstreamApi Api, string Provider, string Model, string ModelVersion)
{
    /// <summary>The credential sent upstream (<c>Authorization: Bearer</c> for OpenAI, <c>x-api-key</c> for Anthropic),
    /// read from the environment variable the file names in <c>api_key_env</c>; null sends none.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The full address of the chat call: the base URL plus <c>/v1/chat/completions</c> or <c>/v1/messages</c>.</summary>
    public Uri CallUri { get; } = new(BaseUrl, Api == UpstreamApi.Anthropic ? "v1/messages" : "v1/chat/completions");

    /// <inheritdoc />
    public override string ToString() => $"{Id} ({Api} at {BaseUrl})";
}
