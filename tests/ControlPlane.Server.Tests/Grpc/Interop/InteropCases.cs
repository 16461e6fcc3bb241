namespace ControlPlane.Server.Tests.Grpc.Interop;

/// <summary>The cases both interop clients implement (tests/interop/node/interop-client.js and
/// tests/interop/python/interop_client.py print one result line per name).</summary>
public static class InteropCases
{
    public static readonly string[] Names =
    [
        "unary", "server_streaming", "client_streaming", "bidi", "deadline_exceeded", "non_ascii_status", "unknown_method", "unauthenticated",
        "gzip", "metadata", "health_check", "health_watch", "reflection_v1", "reflection_v1alpha",
    ];

    public static TheoryData<string> All
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var name in Names)
            {
                data.Add(name);
            }

            return data;
        }
    }

    internal const string InstallHint = "Run scripts/install-test-deps.sh to install the interop clients' dependencies.";
}
