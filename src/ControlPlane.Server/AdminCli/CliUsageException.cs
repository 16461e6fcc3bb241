namespace ControlPlane.Server.AdminCli;

/// <summary>Bad user input found before any call (exit code <see cref="CliExit.Usage"/>).</summary>
internal sealed class CliUsageException : Exception
{
    /// <summary>Creates the error; <paramref name="message"/> names the option or argument.</summary>
    public CliUsageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error.</summary>
    public CliUsageException()
    {
    }

    /// <summary>Creates the error with its cause.</summary>
    public CliUsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
