using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Service.Dashboard;

/// <summary>The page's files, embedded in the assembly (no build step, nothing fetched from elsewhere), served with a
/// strict Content Security Policy: scripts and styles from this origin only (no inline script), data only from this
/// origin, no framing. Only the named files exist; anything else under <c>/ui/</c> is 404.</summary>
internal sealed class DashboardAssets
{
    /// <summary>The page.</summary>
    public const string Index = "index.html";

    /// <summary>The page's Content Security Policy.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly (string Name, string ContentType)[] Files =
    [
        (Index, "text/html; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("charts.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
    ];

    private readonly FrozenDictionary<string, (byte[] Body, string ContentType)> _files;

    public DashboardAssets()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var (name, contentType) in Files)
        {
            using var stream = assembly.GetManifestResourceStream("ControlPlane.Dashboard." + name)
                ?? throw new InvalidOperationException($"The dashboard file {name} is not embedded in {assembly.GetName().Name}.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name] = (copy.ToArray(), contentType);
        }

        _files = files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>Writes <paramref name="name"/> with its security headers, or 404.</summary>
    public Task Serve(string name, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-cache";
        if (!_files.TryGetValue(name, out var file))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        context.Response.ContentType = file.ContentType;
        context.Response.ContentLength = file.Body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.Body.WriteAsync(file.Body, context.RequestAborted).AsTask();
    }
}
