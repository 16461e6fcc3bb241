namespace ControlPlane.Fleet;

/// <summary>One problem in a fleet configuration file, located to the line and column of the offending node.</summary>
/// <param name="Source">The file name (or the source name given to <see cref="FleetLoader.Load"/>).</param>
/// <param name="Line">1-based line; 0 when the problem has no position (the file could not be read).</param>
/// <param name="Column">1-based column; 0 when the problem has no position.</param>
/// <param name="Field">The field path as written in the file, e.g. <c>classes.legal_draft.mode</c>; empty for syntax errors.</param>
/// <param name="Message">What is wrong, for a human.</param>
public sealed record FleetConfigError(string Source, int Line, int Column, string Field, string Message)
{
    /// <summary>The error as <c>file:line:column: field.path: message</c>, the shape compilers use so editors can jump to it.</summary>
    public override string ToString()
    {
        string location = Line > 0 ? $"{Source}:{Line}:{Column}" : Source;
        return Field.Length > 0 ? $"{location}: {Field}: {Message}" : $"{location}: {Message}";
    }
}

/// <summary>Thrown when a fleet configuration cannot be loaded; carries every problem found, not just the first.</summary>
public sealed class FleetConfigException : Exception
{
    // A pathological file can produce thousands of errors; the message stays readable, Errors keeps them all.
    private const int MaxErrorsInMessage = 100;

    /// <summary>Creates the exception from the errors found in one file.</summary>
    public FleetConfigException(IReadOnlyList<FleetConfigError> errors, Exception? innerException = null)
        : base(Describe(errors), innerException)
    {
        Errors = errors;
    }

    /// <summary>Creates an exception with a message only.</summary>
    public FleetConfigException(string message)
        : base(message)
    {
        Errors = [];
    }

    /// <summary>Creates an exception with a message and inner exception.</summary>
    public FleetConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    /// <summary>Creates an exception with no details.</summary>
    public FleetConfigException()
    {
        Errors = [];
    }

    /// <summary>Every problem found, in file order.</summary>
    public IReadOnlyList<FleetConfigError> Errors { get; }

    private static string Describe(IReadOnlyList<FleetConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        string source = errors.Count > 0 ? errors[0].Source : "fleet configuration";
        string count = errors.Count == 1 ? "1 error" : $"{errors.Count} errors";
        string listed = string.Join(Environment.NewLine, errors.Take(MaxErrorsInMessage).Select(e => "  " + e));
        string more = errors.Count > MaxErrorsInMessage ? $"{Environment.NewLine}  ... and {errors.Count - MaxErrorsInMessage} more" : "";
        return $"Fleet configuration {source} is invalid ({count}):{Environment.NewLine}{listed}{more}";
    }
}
