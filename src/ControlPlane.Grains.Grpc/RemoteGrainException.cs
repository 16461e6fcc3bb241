namespace ControlPlane.Grains.Grpc;

/// <summary>A grain call that ran (or failed to start) on another silo threw there. Carries the remote exception's
/// type name and message; stack traces never cross silos.</summary>
public sealed class RemoteGrainException : GrainException
{
    /// <summary>Creates the exception.</summary>
    public RemoteGrainException(GrainId grainId, string siloId, string remoteType, string remoteMessage)
        : base(grainId, $"{remoteType} on silo {siloId}: {remoteMessage}")
    {
        SiloId = siloId;
        RemoteType = remoteType;
        RemoteMessage = remoteMessage;
    }

    /// <summary>The silo where the exception was thrown.</summary>
    public string SiloId { get; }

    /// <summary>The full type name of the remote exception, e.g. <c>System.InvalidOperationException</c>.</summary>
    public string RemoteType { get; }

    /// <summary>The remote exception's message.</summary>
    public string RemoteMessage { get; }
}
