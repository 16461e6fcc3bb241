using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace ControlPlane.Server.AdminCli;

/// <summary>Runs one leaf command: builds its request from the parse (usage errors before any call), sends it, maps the
/// answer to an exit code and prints the result as a table or as the API's JSON.</summary>
internal sealed class CliRunner(CliGlobals globals, CliContext context)
{
    private const int MaxErrorLines = 50;

    /// <summary>Reads the clock for relative times (<c>--since 2h</c>).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Makes <paramref name="command"/> send the request <paramref name="build"/> makes and print the answer with
    /// <paramref name="render"/>; <paramref name="exitCode"/> may turn a successful answer into another exit code.</summary>
    public void Call(Command command, Func<ParseResult, AdminRequest> build, Action<JsonElement, CliTables> render,
        Func<JsonElement, int>? exitCode = null) =>
        command.SetAction((parse, cancellation) => RunAsync(parse, build, render, exitCode, cancellation));

    /// <summary>Makes <paramref name="command"/> stream the answer of its request to the file <paramref name="file"/>
    /// names (or to the output when it names none).</summary>
    public void Stream(Command command, Func<ParseResult, AdminRequest> build, Func<ParseResult, string?> file) =>
        command.SetAction(async (parse, cancellation) =>
        {
            if (!TryPrepare(parse, build, out var connection, out var request, out var failed))
            {
                return failed;
            }

            var path = file(parse) is { } name ? Path.GetFullPath(name, context.WorkingDirectory) : null;
            FileStream? target = null;
            try
            {
                using var api = new AdminApi(connection, context.Handler);
                var response = await api.StreamAsync(request, () => path is null ? new WriterStream(context.Out) : target = File.Create(path), cancellation);
                if (response.Status is >= 200 and < 300 && path is not null)
                {
                    await context.Error.WriteLineAsync($"written to {path}");
                }

                return response.Status is >= 200 and < 300 ? CliExit.Ok : await FailedAsync(response);
            }
            catch (CliUnavailableException error)
            {
                await context.Error.WriteLineAsync($"controlplane admin: {error.Message}");
                return CliExit.Unavailable;
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException)
            {
                await context.Error.WriteLineAsync($"controlplane admin: cannot write '{path}': {error.Message}");
                return CliExit.Usage;
            }
            finally
            {
                if (target is not null)
                {
                    await target.DisposeAsync();
                }
            }
        });

    private async Task<int> RunAsync(ParseResult parse, Func<ParseResult, AdminRequest> build, Action<JsonElement, CliTables> render,
        Func<JsonElement, int>? exitCode, CancellationToken cancellation)
    {
        if (!TryPrepare(parse, build, out var connection, out var request, out var failed))
        {
            return failed;
        }

        AdminResponse response;
        try
        {
            using var api = new AdminApi(connection, context.Handler);
            response = await api.SendAsync(request, cancellation);
        }
        catch (CliUnavailableException error)
        {
            await context.Error.WriteLineAsync($"controlplane admin: {error.Message}");
            return CliExit.Unavailable;
        }

        if (response.Status is < 200 or >= 300)
        {
            return await FailedAsync(response);
        }

        JsonElement json;
        try
        {
            using var document = JsonDocument.Parse(response.Body.Length == 0 ? "null" : response.Body);
            json = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            await context.Out.WriteLineAsync(response.Body);
            return CliExit.Ok;
        }

        if (connection.Json)
        {
            await context.Out.WriteLineAsync(response.Body);
        }
        else
        {
            render(json, new CliTables(Console()));
        }

        await context.Out.FlushAsync(cancellation);
        return exitCode?.Invoke(json) ?? CliExit.Ok;
    }

    private bool TryPrepare(ParseResult parse, Func<ParseResult, AdminRequest> build, out CliConnection connection, out AdminRequest request, out int failed)
    {
        try
        {
            connection = globals.Resolve(parse, context);
            request = build(parse);
            failed = CliExit.Ok;
            return true;
        }
        catch (CliUsageException error)
        {
            context.Error.WriteLine($"controlplane admin: {error.Message}");
            context.Error.WriteLine("Run 'controlplane admin <command> --help' for usage.");
            connection = null!;
            request = null!;
            failed = CliExit.Usage;
            return false;
        }
    }

    private async Task<int> FailedAsync(AdminResponse response)
    {
        var (title, detail, field, errors) = Problem(response.Body);
        var what = response.Status switch
        {
            401 => "not authenticated (401): give a credential with --key, --key-file or CONTROLPLANE_KEY",
            403 => "not allowed (403): the credential lacks the role, or a governance rule forbids this principal (see detail)",
            >= 500 => $"the node failed ({response.Status} {title})",
            _ => $"refused ({response.Status} {title})",
        };
        await context.Error.WriteLineAsync($"controlplane admin: {what}");
        if (detail is not null)
        {
            await context.Error.WriteLineAsync($"  detail: {detail}");
        }

        if (field is not null)
        {
            await context.Error.WriteLineAsync($"  field: {field}");
        }

        // A refusal with several reasons (a fleet reload lists every one) shows them all, bounded.
        if (errors.Count > 1)
        {
            foreach (var line in errors.Take(MaxErrorLines))
            {
                await context.Error.WriteLineAsync($"  error: {line}");
            }

            if (errors.Count > MaxErrorLines)
            {
                await context.Error.WriteLineAsync($"  ... and {errors.Count - MaxErrorLines} more (--output json shows them all)");
            }
        }

        return response.Status switch
        {
            401 or 403 => CliExit.Denied,
            >= 500 => CliExit.Unavailable,
            >= 400 => CliExit.Refused,
            _ => CliExit.Unavailable,
        };
    }

    // problem+json: title, detail, the offending field and every "field: message" of errors; anything else is shown
    // as its first line.
    private static (string Title, string? Detail, string? Field, List<string> Errors) Problem(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                var errors = new List<string>();
                if (CliTables.Member(root, "errors") is { ValueKind: JsonValueKind.Object } byField)
                {
                    foreach (var entry in byField.EnumerateObject())
                    {
                        errors.AddRange(entry.Value.ValueKind == JsonValueKind.Array
                            ? entry.Value.EnumerateArray().Select(m => $"{entry.Name}: {CliTables.Format(m)}")
                            : [$"{entry.Name}: {CliTables.Format(entry.Value)}"]);
                    }
                }

                return (CliTables.Text(root, "title") ?? "error", CliTables.Text(root, "detail"), CliTables.Text(root, "field"), errors);
            }
        }
        catch (JsonException)
        {
        }

        var line = body.Split('\n', 2)[0].Trim();
        return ("error", line.Length == 0 ? null : line[..Math.Min(line.Length, 500)], null, []);
    }

    private IAnsiConsole Console()
    {
        // Colours and the terminal's width only on a terminal: a pipe or file gets plain text that does not wrap.
        var terminal = context.IsConsole && !System.Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(context.Out),
        });
        if (!terminal)
        {
            console.Profile.Width = context.Width;
        }

        return console;
    }
}
