using System.Text.Json;
using ControlPlane.Service.Grains;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Admin;

/// <summary>Streams audit entries as JSON lines (<c>application/x-ndjson</c>), one entry per line, as they are read
/// segment by segment. A failure after the first byte aborts the response, so a reader sees a broken transfer, never a
/// short export that looks complete.</summary>
internal sealed class AuditExportResult(IAsyncEnumerable<AuditEntry> entries) : IResult
{
    /// <summary>The media type of the export.</summary>
    public const string ContentType = "application/x-ndjson";

    private static readonly byte[] NewLine = "\n"u8.ToArray();

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var json = httpContext.RequestServices.GetService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>()?.Value.SerializerOptions
            ?? new JsonSerializerOptions(JsonSerializerDefaults.Web);
        var aborted = httpContext.RequestAborted;
        await using var enumerator = entries.GetAsyncEnumerator(aborted);
        // The first entry is read before the status is sent: a failure that early is still an error response.
        var any = await enumerator.MoveNextAsync();
        httpContext.Response.StatusCode = StatusCodes.Status200OK;
        httpContext.Response.ContentType = ContentType;
        var body = httpContext.Response.Body;
        try
        {
            var written = 0;
            while (any)
            {
                await JsonSerializer.SerializeAsync(body, enumerator.Current, json, aborted);
                await body.WriteAsync(NewLine, aborted);
                if (++written % 128 == 0)
                {
                    await body.FlushAsync(aborted);
                }

                any = await enumerator.MoveNextAsync();
            }
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            httpContext.Abort();
        }
    }
}
