using System.Text;
using System.Text.Json.Nodes;

namespace ControlPlane.Server.AdminCli;

/// <summary>One admin API call as the CLI builds it: method, path under <c>/admin/v1</c> (with its query) and JSON body.</summary>
/// <param name="Method">GET or POST.</param>
/// <param name="Path">The path under <c>/admin/v1</c>, starting with '/', ids already checked and escaped.</param>
/// <param name="Body">The JSON body of a POST (null for a GET).</param>
internal sealed record AdminRequest(HttpMethod Method, string Path, JsonObject? Body = null)
{
    /// <summary>A GET of <paramref name="path"/> with the given query parameters (those with a null value left out).</summary>
    public static AdminRequest Get(string path, params (string Name, string? Value)[] query)
    {
        var builder = new StringBuilder(path);
        var separator = '?';
        foreach (var (name, value) in query)
        {
            if (value is null)
            {
                continue;
            }

            builder.Append(separator).Append(name).Append('=').Append(Uri.EscapeDataString(value));
            separator = '&';
        }

        return new AdminRequest(HttpMethod.Get, builder.ToString());
    }

    /// <summary>A POST of <paramref name="body"/> (members with a null value left out) to <paramref name="path"/>.</summary>
    public static AdminRequest Post(string path, JsonObject body)
    {
        foreach (var name in body.Where(p => p.Value is null).Select(p => p.Key).ToList())
        {
            body.Remove(name);
        }

        return new AdminRequest(HttpMethod.Post, path, body);
    }

    /// <summary>Escapes one checked id for a path segment.</summary>
    public static string Segment(string id) => Uri.EscapeDataString(id);
}
