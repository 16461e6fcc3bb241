using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace ControlPlane.Server.AdminCli;

/// <summary>Renders the API's JSON as Spectre.Console tables. Tolerant: a missing member is an empty cell, an unknown
/// one is ignored by the list views and shown by the detail view.</summary>
internal sealed class CliTables(IAnsiConsole console)
{
    private const int MaxCell = 120;

    /// <summary>The console written to.</summary>
    public IAnsiConsole Console { get; } = console;

    /// <summary>One line of text (not markup).</summary>
    public void Line(string text) => Console.Write(new Text(text + "\n"));

    /// <summary>A two-column table of an object's members, nested objects flattened to dotted names.</summary>
    public void Details(JsonElement value, string? title = null)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("field").AddColumn("value");
        if (title is not null)
        {
            table.Title(new TableTitle(title));
        }

        if (value.ValueKind == JsonValueKind.Object)
        {
            Flatten(value, "", table);
        }
        else
        {
            table.AddRow(Cell("value"), Cell(Format(value)));
        }

        Console.Write(table);
    }

    /// <summary>A table with one row per item of <paramref name="items"/> and one column per dotted member path.</summary>
    public void List(JsonElement items, string? title, params string[] columns)
    {
        if (items.ValueKind != JsonValueKind.Array)
        {
            Details(items, title);
            return;
        }

        if (items.GetArrayLength() == 0)
        {
            Line(title is null ? "(none)" : $"{title}: (none)");
            return;
        }

        if (columns.Length == 0)
        {
            // Unknown shape: the scalar members the items have, in first-seen order.
            columns = [.. items.EnumerateArray().Where(i => i.ValueKind == JsonValueKind.Object)
                .SelectMany(i => i.EnumerateObject().Where(p => p.Value.ValueKind is not JsonValueKind.Object).Select(p => p.Name))
                .Distinct(StringComparer.Ordinal).Take(10)];
            if (columns.Length == 0)
            {
                columns = ["value"];
            }
        }

        var table = new Table().Border(TableBorder.Rounded);
        if (title is not null)
        {
            table.Title(new TableTitle(title));
        }

        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(new Text(column)));
        }

        foreach (var item in items.EnumerateArray())
        {
            table.AddRow([.. columns.Select(c => Cell(Format(item.ValueKind == JsonValueKind.Object ? Member(item, c) : item)))]);
        }

        Console.Write(table);
        Line($"{items.GetArrayLength()} item(s)");
    }

    /// <summary>The member at a dotted path, or an undefined element when any step is missing.</summary>
    public static JsonElement Member(JsonElement value, string path)
    {
        foreach (var step in path.Split('.'))
        {
            if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(step, out value))
            {
                return default;
            }
        }

        return value;
    }

    /// <summary>The text of a member path, or null when missing or JSON null.</summary>
    public static string? Text(JsonElement value, string path)
    {
        var member = Member(value, path);
        return member.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? null : Format(member);
    }

    /// <summary>A JSON value as cell text: strings bare, arrays of scalars comma-separated, the rest compact JSON.</summary>
    public static string Format(JsonElement value)
    {
        var text = value.ValueKind switch
        {
            JsonValueKind.Undefined or JsonValueKind.Null => "",
            JsonValueKind.String => value.GetString() ?? "",
            JsonValueKind.Number => value.TryGetInt64(out var whole)
                ? whole.ToString(CultureInfo.InvariantCulture)
                : value.GetDouble().ToString("0.####", CultureInfo.InvariantCulture),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            JsonValueKind.Array when value.EnumerateArray().All(i => i.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array)) =>
                string.Join(", ", value.EnumerateArray().Select(Format)),
            JsonValueKind.Array when value.EnumerateArray().All(i => i.ValueKind == JsonValueKind.Object && i.TryGetProperty("endpointId", out _)) =>
                string.Join(", ", value.EnumerateArray().Select(Fallback)),
            JsonValueKind.Array when value.EnumerateArray().All(i => i.ValueKind == JsonValueKind.Object && i.TryGetProperty("principal", out _)) =>
                string.Join(", ", value.EnumerateArray().Select(Approval)),
            _ => value.GetRawText(),
        };
        return text.Length > MaxCell ? string.Concat(text.AsSpan(0, MaxCell - 1), "…") : text;
    }

    // An approved fallback: "id (score)".
    private static string Fallback(JsonElement item) =>
        Text(item, "evalScore") is { } score ? $"{Text(item, "endpointId")} ({score})" : Text(item, "endpointId") ?? "";

    // An approval: "principal (role)".
    private static string Approval(JsonElement item) =>
        Text(item, "role") is { } role ? $"{Text(item, "principal")} ({role})" : Text(item, "principal") ?? "";

    private static void Flatten(JsonElement value, string prefix, Table table)
    {
        foreach (var property in value.EnumerateObject())
        {
            var name = prefix + property.Name;
            if (property.Value.ValueKind == JsonValueKind.Object && property.Value.EnumerateObject().Any())
            {
                Flatten(property.Value, name + ".", table);
            }
            else
            {
                table.AddRow(Cell(name), Cell(Format(property.Value)));
            }
        }
    }

    // Text, never markup: values come from the server and may contain '[' or ']'.
    private static IRenderable Cell(string text) => new Text(text);
}
