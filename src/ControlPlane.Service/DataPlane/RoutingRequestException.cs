namespace ControlPlane.Service.DataPlane;

/// <summary>Why a data-plane request was refused.</summary>
internal enum RequestErrorKind
{
    /// <summary>A field is missing or out of range.</summary>
    InvalidArgument,

    /// <summary>The named workload class does not exist.</summary>
    NotFound,

    /// <summary>The caller's roles do not allow this request (a synthetic outcome without the prober role).</summary>
    PermissionDenied,
}

/// <summary>A refused data-plane request, naming the field (mapped to INVALID_ARGUMENT / NOT_FOUND).</summary>
internal sealed class RoutingRequestException(RequestErrorKind kind, string field, string message)
    : Exception($"{field}: {message}")
{
    public RequestErrorKind Kind { get; } = kind;

    public string Field { get; } = field;
}
