namespace ControlPlane.Service.Admin;

/// <summary>What kind of admin failure (maps to HTTP 400/404/409 and gRPC INVALID_ARGUMENT/NOT_FOUND/FAILED_PRECONDITION,
/// and for a lost race on a version, HTTP 409 / gRPC ABORTED).</summary>
public enum AdminErrorKind
{
    /// <summary>The request is malformed or names something invalid.</summary>
    Invalid,

    /// <summary>The endpoint or class does not exist.</summary>
    NotFound,

    /// <summary>The change does not apply to the current state (e.g. undrain of an endpoint that is not drained).</summary>
    Conflict,

    /// <summary>The target changed since the caller read it (an expected version did not match): read again, retry.</summary>
    VersionConflict,

    /// <summary>The caller may not do this (a rule about people: the proposer approving their own change, an approver
    /// without the role): HTTP 403 / gRPC PERMISSION_DENIED.</summary>
    Forbidden,
}

/// <summary>A refused admin request, naming the field at fault. Thrown by grains too, so it is serializable.</summary>
[GenerateSerializer, Alias("cp.AdminException")]
public sealed class AdminException : Exception
{
    public AdminException(AdminErrorKind kind, string field, string message)
        : base($"{field}: {message}")
    {
        Kind = kind;
        Field = field;
        Detail = message;
    }

    /// <summary>What kind of failure.</summary>
    [Id(0)]
    public AdminErrorKind Kind { get; }

    /// <summary>The field at fault.</summary>
    [Id(1)]
    public string Field { get; }

    /// <summary>The problem, without the field.</summary>
    [Id(2)]
    public string Detail { get; }
}
