using System.Net;
using System.Text;
using ControlPlane.Server.AdminCli;

namespace ControlPlane.Server.Tests.AdminCli;

/// <summary>Runs <c>controlplane admin ...</c> in-process with captured output, an empty environment (a developer's
/// CONTROLPLANE_URL or key never leaks in) and a working directory of its own (no ./data/admin.key).</summary>
internal static class CliHarness
{
    public static async Task<CliRun> RunAsync(HttpMessageHandler? handler, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            return await RunInAsync(directory, handler, environment, args);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    public static Task<CliRun> RunAsync(params string[] args) => RunAsync(null, null, args);

    public static async Task<CliRun> RunInAsync(string directory, HttpMessageHandler? handler, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new CliContext(output, error, name => environment is not null && environment.TryGetValue(name, out var value) ? value : null, directory, handler);
        var exit = await AdminCliApp.RunAsync(args, context);
        return new CliRun(exit, output.ToString(), error.ToString());
    }
}

/// <summary>What one CLI run printed and returned.</summary>
internal sealed record CliRun(int ExitCode, string Out, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Error}";
}

/// <summary>Records the requests the CLI sends and answers each with <paramref name="answer"/> (the CLI's own output and
/// requests are what is checked, not the product).</summary>
internal sealed class RecordingHandler(Func<HttpRequestMessage, (HttpStatusCode Status, string Body)> answer) : HttpMessageHandler
{
    public RecordingHandler(HttpStatusCode status, string body)
        : this(_ => (status, body))
    {
    }

    public List<RecordedRequest> Requests { get; } = [];

    public RecordedRequest Single => Assert.Single(Requests);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        Requests.Add(new RecordedRequest(request.Method.Method, request.RequestUri!.PathAndQuery, body, request.Headers.Authorization?.ToString(),
            request.Content?.Headers.ContentType?.MediaType));
        var (status, text) = answer(request);
        return new HttpResponseMessage(status)
        {
            Content = new StringContent(text, Encoding.UTF8, (int)status >= 400 ? "application/problem+json" : "application/json"),
        };
    }
}

/// <summary>One request the CLI sent.</summary>
internal sealed record RecordedRequest(string Method, string PathAndQuery, string? Body, string? Authorization, string? ContentType);
