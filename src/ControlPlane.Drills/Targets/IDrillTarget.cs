namespace ControlPlane.Drills.Targets;

/// <summary>What a target says about who served an answer (read from its response headers).</summary>
/// <param name="Endpoint">The fleet endpoint that produced the answer; null when the target does not say.</param>
/// <param name="RouteReason">Why it was chosen (<c>primary</c>, <c>fallback_*</c>, ...); null when not said.</param>
/// <param name="Attempts">Upstream attempts the request took (1 when not said).</param>
public readonly record struct ServedBy(string? Endpoint, string? RouteReason, int Attempts);

/// <summary>A system the drill sends its traffic to: an OpenAI-compatible base URL, how a request names its workload
/// class, and how to read which endpoint served it. Our proxy is one (<see cref="ProxyDrillTarget"/>); the Portkey
/// comparison adds another.</summary>
public interface IDrillTarget
{
    /// <summary>Short name for the report (<c>proxy</c>, <c>portkey</c>).</summary>
    string Name { get; }

    /// <summary>Base URL; requests go to <c>{BaseUri}v1/chat/completions</c>.</summary>
    Uri BaseUri { get; }

    /// <summary>Marks <paramref name="request"/> as one of <paramref name="workloadClass"/> (a header, a key, a
    /// config id) and adds <paramref name="expect"/> where the target grades answers.</summary>
    void Prepare(HttpRequestMessage request, string workloadClass, string expect);

    /// <summary>Which endpoint served <paramref name="response"/>.</summary>
    ServedBy Read(HttpResponseMessage response);
}
