using Orleans.Storage;

namespace ControlPlane.Service.Grains;

/// <summary>Which exceptions from a grain call mean "the grain could not do it right now" (its silo is starting,
/// stopping or dead, the call timed out, storage refused or lost a write): nothing was acknowledged, and the caller
/// may retry. Admin APIs answer them as 503 / UNAVAILABLE.</summary>
internal static class GrainCallFailure
{
    public static bool IsUnavailable(Exception error) => error is OrleansException or TimeoutException or InconsistentStateException
        or SiloUnavailableException or OperationCanceledException or System.Net.Sockets.SocketException or IOException
        or System.Data.Common.DbException;
}
