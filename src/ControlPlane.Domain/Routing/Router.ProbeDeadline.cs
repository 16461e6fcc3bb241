namespace ControlPlane.Domain.Routing;

// A half-open probe is judged by its outcome: one failed probe re-opens the breaker with a longer cooldown. A call whose
// remaining deadline is shorter than the endpoint's p95 answer time would be cut by its own deadline and report a
// timeout that says nothing about the endpoint, so it is not given a probe slot (it is treated as finding no slot: held,
// or sent elsewhere) and the slot stays for a call with time to answer. The case that needed it: a queue_only class
// (browser_agent, whose only primary is the endpoint) holds its calls while the primary is open, within their Route
// deadline; when the breaker turns half-open the held calls, re-routed first with well under a second left, took every
// probe slot, timed out and re-opened the breaker, again and again after the fault had ended (docs/drills.md).
public sealed partial class Router
{
    private static bool TooShortToProbe(in EndpointLoad load, TimeSpan? remaining) =>
        remaining is { } left && load.P95RequestLatencyMs > 0 && left.TotalMilliseconds < load.P95RequestLatencyMs;
}
