namespace ControlPlane.Service.DataPlane;

// A held call (queue_only) is served with what its deadline has left after the wait: its decision's timeout is capped by
// it. Released onto a primary with less time left than the primary's p95 answer, the attempt would be cut by the
// caller's own deadline and reported as an endpoint timeout: right after a breaker closed, a line of such calls made five
// "consecutive failures" and re-opened a recovered primary (docs/drills.md, the bad day's quality drift). Such a call
// stays held instead until its hold answer (retry_after_ms), and its caller asks again with a fresh deadline; calls with
// time left are served as before. Endpoints without latency figures are not judged.
internal sealed partial class RoutingNode
{
    private bool TooLittleLeftToServe(int classIndex, TimeSpan left)
    {
        var snapshot = Snapshot;
        var primaries = snapshot.ClassAt(classIndex).Primary;
        // The fastest primary's p95 answer: a call with less than that left would be cut wherever it went.
        var needed = double.PositiveInfinity;
        for (var i = 0; i < primaries.Count; i++)
        {
            if (snapshot.TryGetEndpointIndex(primaries[i], out var e))
            {
                needed = Math.Min(needed, snapshot.LoadAt(e).P95RequestLatencyMs);
            }
        }

        return needed > 0 && !double.IsPositiveInfinity(needed) && left.TotalMilliseconds < needed;
    }
}
