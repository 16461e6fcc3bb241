using System.Text.Json;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Service.RequestLog;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Tests.RequestLog;

/// <summary>Helpers of the request log tests: a temporary directory, writers over it, records, and reading the lines back.</summary>
internal sealed class RequestLogFiles : IDisposable
{
    public RequestLogFiles()
    {
        Directory = Path.Combine(Path.GetTempPath(), "cp-reqlog-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public string LogPath => Path.Combine(Directory, "requests.jsonl");

    public RequestLogWriter Writer(Action<RequestLogOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new ControlPlaneOptions();
        options.RequestLog.Path = LogPath;
        configure?.Invoke(options.RequestLog);
        return new RequestLogWriter(Options.Create(options), time ?? TimeProvider.System, NullLoggerFactory.Instance);
    }

    public static RequestLogRecord Record(string requestId, OutcomeStatus status = OutcomeStatus.Success) => new()
    {
        Timestamp = DateTimeOffset.UnixEpoch.AddDays(20_000),
        RequestId = requestId,
        DecisionId = "d-" + requestId,
        WorkloadClass = "customer_chat",
        Endpoint = "openai-gpt4o-us",
        Provider = "openai",
        RoutedModel = "gpt-4o",
        Region = "us-east",
        PrimaryEndpoint = "openai-gpt4o-us",
        PrimaryModel = "gpt-4o",
        Node = "node-a",
        Status = status,
        LatencyMs = 321,
        TtftMs = 45,
        InputTokens = 1_000,
        OutputTokens = 200,
        CostUsd = 0.0045,
    };

    /// <summary>Every line of <paramref name="path"/>, each parsed (a line that is not one JSON object fails the test).</summary>
    public static List<JsonElement> ReadLines(string path)
    {
        var lines = new List<JsonElement>();
        foreach (var line in File.ReadAllLines(path))
        {
            using var document = JsonDocument.Parse(line);
            Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
            lines.Add(document.RootElement.Clone());
        }

        return lines;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
