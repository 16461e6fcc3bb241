namespace ControlPlane.Drills.Scenarios;

/// <summary>A scenario file that cannot be used; the message lists every problem as <c>file:line:column: field: message</c>.</summary>
public sealed class DrillScenarioException : Exception
{
    /// <summary>Creates the exception from the problems found.</summary>
    public DrillScenarioException(IReadOnlyList<string> problems)
        : base(string.Join(Environment.NewLine, problems))
    {
        Problems = problems;
    }

    /// <summary>Creates an exception with a message only.</summary>
    public DrillScenarioException(string message)
        : base(message)
    {
        Problems = [message];
    }

    /// <summary>Creates an exception with a message and inner exception.</summary>
    public DrillScenarioException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problems = [message];
    }

    /// <summary>Creates an exception with no details.</summary>
    public DrillScenarioException()
    {
        Problems = [];
    }

    /// <summary>Every problem, in file order.</summary>
    public IReadOnlyList<string> Problems { get; }
}
