namespace ControlPlane.Server.AdminCli;

/// <summary>Where the CLI writes and what it reads from its surroundings (the process's console and environment, or a
/// test's writers).</summary>
/// <param name="Out">Results (tables or the API's JSON).</param>
/// <param name="Error">Errors and warnings.</param>
/// <param name="Environment">Reads an environment variable (null when unset).</param>
/// <param name="WorkingDirectory">Where the default key file <c>./data/admin.key</c> is looked up.</param>
/// <param name="Handler">The HTTP handler to send through (null: a new <see cref="SocketsHttpHandler"/>).</param>
internal sealed record CliContext(TextWriter Out, TextWriter Error, Func<string, string?> Environment, string WorkingDirectory,
    HttpMessageHandler? Handler = null)
{
    /// <summary>Table width when the output is not a terminal: wide enough that cells do not wrap (ids stay greppable).</summary>
    public int Width { get; init; } = 1000;

    /// <summary>True when writing to the process's console (terminal colours and width, Ctrl+C handling).</summary>
    public bool IsConsole { get; init; }

    /// <summary>The process's console and environment.</summary>
    public static CliContext FromConsole() =>
        new(Console.Out, Console.Error, System.Environment.GetEnvironmentVariable, Directory.GetCurrentDirectory()) { IsConsole = true };
}
