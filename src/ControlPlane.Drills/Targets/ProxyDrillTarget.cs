using System.Globalization;

namespace ControlPlane.Drills.Targets;

/// <summary>Our reference proxy (<c>src/ControlPlane.Proxy</c>): the class travels in <c>X-Workload-Class</c>, the
/// grader's expectation in <c>X-ControlPlane-Expect</c>, and every answer names its endpoint, route reason and attempts
/// in <c>x-controlplane-*</c> headers.</summary>
public sealed class ProxyDrillTarget : IDrillTarget
{
    /// <summary>The header naming the workload class.</summary>
    public const string ClassHeader = "X-Workload-Class";

    /// <summary>The header carrying the grader's expected substring.</summary>
    public const string ExpectHeader = "X-ControlPlane-Expect";

    /// <summary>Creates the target for a proxy listening at <paramref name="baseUri"/>.</summary>
    public ProxyDrillTarget(Uri baseUri, string name = "proxy")
    {
        ArgumentNullException.ThrowIfNull(baseUri);
        BaseUri = baseUri.AbsoluteUri.EndsWith('/') ? baseUri : new Uri(baseUri.AbsoluteUri + "/");
        Name = name;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public Uri BaseUri { get; }

    /// <inheritdoc/>
    public void Prepare(HttpRequestMessage request, string workloadClass, string expect)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Headers.TryAddWithoutValidation(ClassHeader, workloadClass);
        request.Headers.TryAddWithoutValidation(ExpectHeader, expect);
    }

    /// <inheritdoc/>
    public ServedBy Read(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var attempts = Header(response, "x-controlplane-attempts") is { } text
            && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n is > 0 and < 1000 ? n : 1;
        return new ServedBy(Header(response, "x-controlplane-endpoint"), Header(response, "x-controlplane-route-reason"), attempts);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() is { Length: > 0 and <= 256 } v ? v : null : null;
}
