using ControlPlane.Service.Admin;

namespace ControlPlane.Service.Tests.Support;

/// <summary>Valid policy changes of the sample fleet's <c>customer_chat</c> class (quality gate 0.9): a mode that never
/// falls back has no fallbacks; auto_fallback gets its two approved fallbacks back, with eval scores.</summary>
internal static class PolicyCommands
{
    private static readonly FallbackView[] Fallbacks = [new("anthropic-sonnet-us", 0.95), new("google-gemini-pro-us", 0.92)];

    public static PolicyCommand CustomerChat(string mode, string reason, long? expectedVersion = null, IReadOnlyList<string>? primary = null) =>
        new(mode, primary, mode == "auto_fallback" ? Fallbacks : [], null, reason, expectedVersion);
}
