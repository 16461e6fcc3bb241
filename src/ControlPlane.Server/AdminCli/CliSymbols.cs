using System.CommandLine;

namespace ControlPlane.Server.AdminCli;

/// <summary>Short constructors for the options and arguments the commands share.</summary>
internal static class CliSymbols
{
    /// <summary>A string option.</summary>
    public static Option<string?> Text(string name, string description, bool required = false) =>
        new(name) { Description = description, Required = required };

    /// <summary>A repeatable string option (<c>--role a --role b</c>).</summary>
    public static Option<string[]> Many(string name, string description, bool required = false) =>
        new(name) { Description = description, Required = required, Arity = ArgumentArity.OneOrMore };

    /// <summary>The required <c>--reason</c> (audited).</summary>
    public static Option<string?> Reason() => Text("--reason", "Why (required; recorded in the audit trail).", required: true);

    /// <summary>An optional <c>--ttl</c>.</summary>
    public static Option<string?> Ttl(string what) => Text("--ttl", $"{what} expires after this long (e.g. 30m, 2h, 1d; at most 366d).");

    /// <summary>A required positional argument.</summary>
    public static Argument<string> Argument(string name, string description) => new(name) { Description = description };

    /// <summary>A command with subcommands, options and arguments.</summary>
    public static Command Command(string name, string description, params Symbol[] symbols)
    {
        var command = new Command(name, description);
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Command child:
                    command.Add(child);
                    break;
                case Option option:
                    command.Add(option);
                    break;
                case Argument argument:
                    command.Add(argument);
                    break;
                default:
                    throw new ArgumentException($"unexpected symbol {symbol.Name}", nameof(symbols));
            }
        }

        return command;
    }
}
