using System.Net.Http.Headers;

namespace ControlPlane.Testing;

/// <summary>The credentials test nodes are started with: a fixed bootstrap admin key (it holds every role), given to the
/// node as its configured bootstrap key (<c>CONTROLPLANE_ADMIN_KEY</c> for a process).</summary>
public static class TestCredentials
{
    /// <summary>The test bootstrap admin key (id <c>testadmin000</c>; the secret is the bytes 0..31).</summary>
    public const string AdminKey = "cpk_testadmin000_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    /// <summary>The environment variable a node process reads its bootstrap admin key from.</summary>
    public const string AdminKeyVariable = "CONTROLPLANE_ADMIN_KEY";

    /// <summary><c>Authorization: Bearer <paramref name="token"/></c>.</summary>
    public static AuthenticationHeaderValue Bearer(string token = AdminKey) => new("Bearer", token);

    /// <summary>An HttpClient whose every request carries <paramref name="token"/>.</summary>
    public static HttpClient Client(Uri baseAddress, string token = AdminKey)
    {
        var client = new HttpClient { BaseAddress = baseAddress };
        client.DefaultRequestHeaders.Authorization = Bearer(token);
        return client;
    }

    /// <summary>A handler that adds <c>Authorization: Bearer</c> to every request (for gRPC channels and raw HTTP/2).</summary>
    public static DelegatingHandler Handler(string token = AdminKey, HttpMessageHandler? inner = null) =>
        new BearerHandler(token) { InnerHandler = inner ?? new SocketsHttpHandler() };

    private sealed class BearerHandler(string token) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Authorization ??= Bearer(token);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
