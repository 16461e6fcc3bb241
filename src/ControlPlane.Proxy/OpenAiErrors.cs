using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Proxy;

/// <summary>Answers in OpenAI's error shape: <c>{"error":{"message":"...","type":"...","param":null,"code":"..."}}</c>.</summary>
internal static class OpenAiErrors
{
    public static async Task WriteAsync(HttpResponse response, int status, string type, string code, string message, CancellationToken cancellationToken)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        var body = Body(type, code, message);
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The error as a server-sent event, for a stream that fails after it started.</summary>
    public static byte[] StreamEvent(string type, string code, string message)
    {
        var body = Body(type, code, message);
        var framed = new byte[body.Length + 8];
        "data: "u8.CopyTo(framed);
        body.CopyTo(framed.AsSpan(6));
        "\n\n"u8.CopyTo(framed.AsSpan(6 + body.Length));
        return framed;
    }

    private static byte[] Body(string type, string code, string message)
    {
        using var buffer = new MemoryStream(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error"u8);
            writer.WriteString("message"u8, message);
            writer.WriteString("type"u8, type);
            writer.WriteNull("param"u8);
            writer.WriteString("code"u8, code);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
