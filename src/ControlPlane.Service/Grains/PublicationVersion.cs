namespace ControlPlane.Service.Grains;

/// <summary>Versions of what grains publish to nodes. Nodes drop a push older than what they hold, so a version must
/// never go back: not across activations (it is persisted) and not across a storage reset (Redis restarted empty
/// resets the persisted counter to zero). The next version is therefore at least the wall clock in microseconds, which
/// is far above any counter a grain reaches by increments, and always above the previous version.</summary>
internal static class PublicationVersion
{
    public static long Next(long current, TimeProvider time)
    {
        var floor = time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        return Math.Max(current == long.MaxValue ? current : current + 1, floor);
    }
}
