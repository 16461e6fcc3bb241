using ControlPlane.Service.Security;

namespace ControlPlane.Service.Tests.Support;

/// <summary>Authenticated actors for calls made straight to <c>AdminOperations</c> and the grains (the HTTP and gRPC
/// layers build them from the caller's credential).</summary>
internal static class TestActors
{
    /// <summary>A principal named <paramref name="name"/> holding <paramref name="roles"/> (every role when none given).</summary>
    public static AdminActor Named(string name, params string[] roles) =>
        new(name, roles.Length == 0 ? [.. Roles.All] : roles, $"test-key-{name}", "127.0.0.1:0", "test");
}
