using System.CommandLine;
using System.CommandLine.Help;

namespace ControlPlane.Server.AdminCli;

/// <summary><c>controlplane admin ...</c>: the admin CLI over the admin HTTP API (exit codes in <see cref="CliExit"/>).</summary>
internal static class AdminCliApp
{
    /// <summary>The first argument that selects the CLI instead of starting a node.</summary>
    public const string Verb = "admin";

    /// <summary>Parses <paramref name="args"/> (what follows <c>admin</c>), runs the command and returns its exit code.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, CliContext context, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var root = Build(context, TimeProvider.System);
        // No response files: a reason starting with '@' is text, not a file to read in its place.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                Output = context.Out,
                Error = context.Error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = context.IsConsole ? TimeSpan.FromSeconds(2) : null,
            }, cancellation);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested || context.IsConsole)
        {
            await context.Error.WriteLineAsync("controlplane admin: cancelled");
            return CliExit.Unavailable;
        }
    }

    /// <summary>The command tree (exposed for tests of the parse and of the requests it builds).</summary>
    public static Command Build(CliContext context, TimeProvider time)
    {
        var globals = new CliGlobals();
        var run = new CliRunner(globals, context) { Time = time };
        // Named "admin" as typed after "controlplane" (a RootCommand would take the executable's name).
        var root = new Command(Verb, $"controlplane admin: the control plane's admin API from the command line.\n{CliExit.Help}") { new HelpOption() };
        globals.AddTo(root);
        root.Add(FleetCommands.Fleet(run));
        root.Add(EndpointCommands.Build(run));
        root.Add(FleetCommands.Class(run));
        root.Add(FleetCommands.Catalog(run));
        root.Add(PolicyCommands.Build(run));
        root.Add(BreakGlassCommands.Build(run));
        root.Add(AuditCommands.Build(run));
        root.Add(KeyCommands.Build(run, context));
        root.Add(FleetCommands.WhoAmI(run));
        return root;
    }
}
