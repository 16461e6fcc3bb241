namespace ControlPlane.Domain.Endpoints;

/// <summary>An optional quality judgement on a successful response (from an eval or a user signal).</summary>
public enum QualityVerdict : byte
{
    /// <summary>No verdict was reported.</summary>
    None = 0,
    /// <summary>The response met the quality bar.</summary>
    Pass = 1,
    /// <summary>The response did not meet the quality bar (silent drift behind a 200 OK).</summary>
    Fail = 2,
}
