namespace ControlPlane.Grpc;

/// <summary>The result of a gRPC call: a code and an optional human-readable detail.</summary>
/// <param name="StatusCode">The status code.</param>
/// <param name="Detail">The message sent as <c>grpc-message</c> (percent-encoded on the wire).</param>
public readonly record struct Status(StatusCode StatusCode, string Detail)
{
    /// <summary>The OK status with no detail.</summary>
    public static Status DefaultSuccess => new(StatusCode.OK, "");

    /// <inheritdoc />
    public override string ToString() => $"Status(StatusCode=\"{StatusCode}\", Detail=\"{Detail}\")";
}
