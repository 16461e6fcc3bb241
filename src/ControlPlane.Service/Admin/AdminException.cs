namespace ControlPlane.Service.Admin;

/// <summary>What kind of admin failure (maps to HTTP 400/404/409 and gRPC INVALID_ARGUMENT/NOT_FOUND/FAILED_PRECONDITION).</summary>
internal enum AdminErrorKind
{
    Invalid,
    NotFound,
    Conflict,
}

/// <summary>A refused admin request, naming the field at fault.</summary>
internal sealed class AdminException(AdminErrorKind kind, string field, string message) : Exception($"{field}: {message}")
{
    public AdminErrorKind Kind { get; } = kind;

    public string Field { get; } = field;

    public string Detail { get; } = message;
}
