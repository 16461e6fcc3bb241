using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using ControlPlane.Contracts.V1;
using Google.Protobuf;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace ControlPlane.Echo;

/// <summary>
/// The baselines of <c>bench/grpc-h2load.sh</c>:
/// <list type="bullet">
/// <item><c>serve --mode kestrel --listen HOST:PORT</c>: bare Kestrel, HTTP/2 cleartext only, one <c>MapPost</c> route
/// that copies the request body to the response with <c>content-type: application/grpc</c> and the trailer
/// <c>grpc-status: 0</c>.</item>
/// <item><c>serve --mode grpc --listen HOST:PORT</c>: Grpc.AspNetCore serving <c>controlplane.v1.Routing</c> from the
/// product's contract: <c>Route</c> parses the product's <see cref="RouteRequest"/> and answers one
/// <see cref="RouteDecision"/> built at start-up; <c>ReportOutcome</c> parses an <see cref="Outcome"/> and answers
/// <c>accepted: 1</c>.</item>
/// <item><c>frames --out DIR</c>: writes the gRPC request frames h2load sends with <c>-d</c>.</item>
/// <item><c>decode route-decision|outcome-ack|route-request|outcome FILE</c>: prints a gRPC frame's message as JSON
/// (used to sanity-check an answer before the load).</item>
/// </list>
/// </summary>
internal static class Program
{
    private const string Usage = """
        Usage:
          controlplane-echo serve --mode kestrel|grpc --listen HOST:PORT
          controlplane-echo frames --out DIR
          controlplane-echo decode route-decision|outcome-ack|route-request|outcome FILE
        """;

    public static async Task<int> Main(string[] args)
    {
        try
        {
            switch (args.FirstOrDefault())
            {
                case "serve":
                    await ServeAsync(Option(args, "--mode"), ParseEndpoint(Option(args, "--listen"))).ConfigureAwait(false);
                    return 0;
                case "frames":
                    WriteFrames(Option(args, "--out"));
                    return 0;
                case "decode" when args.Length == 3:
                    Console.WriteLine(Decode(args[1], File.ReadAllBytes(args[2])));
                    return 0;
                case "-h" or "--help":
                    Console.WriteLine(Usage);
                    return 0;
                default:
                    await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
                    return 2;
            }
        }
        catch (ArgumentException error)
        {
            await Console.Error.WriteLineAsync($"controlplane-echo: {error.Message}").ConfigureAwait(false);
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return 2;
        }
    }

    /// <summary>A Route request as a chat proxy sends it: a known class, token estimates, two capabilities,
    /// tags and a deadline. The same bytes go to the gRPC echo and to the product.</summary>
    internal static RouteRequest SampleRouteRequest() => new()
    {
        WorkloadClass = "customer_chat",
        RequestId = "req-7f3c2a91-4b6e-4d8a-9c1f-2e5b8d0a6c47",
        EstimatedInputTokens = 1_850,
        MaxOutputTokens = 600,
        RequiredCapabilities = { "tools", "streaming" },
        Attempt = 0,
        Tags = { ["tenant"] = "acme-retail", ["app"] = "helpcentre-assistant", ["region"] = "us-east" },
        DeadlineMs = 30_000,
    };

    /// <summary>A successful attempt on a primary of <c>customer_chat</c>. No decision id: a report of an attempt the
    /// node did not decide (or already reconciled) is accepted and fed to the health windows, and the same bytes can
    /// be sent any number of times.</summary>
    internal static Outcome SampleOutcome() => new()
    {
        EndpointId = "openai-gpt4o-us",
        WorkloadClass = "customer_chat",
        Status = OutcomeStatus.Success,
        HttpStatus = 200,
        LatencyMs = 2_340,
        TtftMs = 410,
        InputTokens = 1_812,
        OutputTokens = 377,
        Quality = new Quality { Verdict = QualityVerdict.Pass, Score = 0.96 },
        ReturnedModelVersion = "gpt-4o-2024-08-06",
    };

    /// <summary>The answer of the gRPC echo: shaped like the product's answer to <see cref="SampleRouteRequest"/>.</summary>
    internal static RouteDecision SampleDecision() => new()
    {
        // As long as the product's (64 characters: a version-3 decision id, src/ControlPlane.Service/DataPlane/DecisionIds.cs).
        DecisionId = "AwAAAAEAAAAAAAAAAQAAAAAAAAAAAAABm0cUvHQAAAAAAAAAAAAAAAAAAAAAAAAA",
        EndpointId = "openai-gpt4o-us",
        Provider = "openai",
        Model = "gpt-4o",
        RouteReason = "primary",
        TimeoutMs = 30_000,
        Fallbacks = { "openai-gpt41-us", "anthropic-sonnet-us", "google-gemini-pro-us" },
        Reservation = new TokenReservation { InputTokens = 1_850, OutputTokens = 600, Requests = 1 },
        ModelVersion = "gpt-4o-2024-08-06",
        Region = "us-east",
        PrimaryEndpointId = "openai-gpt4o-us",
        PrimaryModel = "gpt-4o",
    };

    private static async Task ServeAsync(string mode, IPEndPoint listen)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(listen, l => l.Protocols = HttpProtocols.Http2);
        });
        WebApplication app;
        switch (mode)
        {
            case "kestrel":
                app = builder.Build();
                app.MapPost("/{service}/{method}", EchoAsync);
                break;
            case "grpc":
                builder.Services.AddGrpc();
                app = builder.Build();
                app.MapGrpcService<RoutingEcho>();
                break;
            default:
                throw new ArgumentException($"--mode must be kestrel or grpc (was '{mode}').");
        }

        await app.StartAsync().ConfigureAwait(false);
        Console.WriteLine($"{mode} echo listening on http://{listen} (h2c)");
        await Console.Out.FlushAsync().ConfigureAwait(false);
        await app.WaitForShutdownAsync().ConfigureAwait(false);
    }

    // The whole request body back, as one gRPC answer: what any gRPC server must at least do per unary call.
    private static async Task EchoAsync(HttpContext context)
    {
        context.Response.ContentType = "application/grpc";
        var reader = context.Request.BodyReader;
        var writer = context.Response.BodyWriter;
        while (true)
        {
            var read = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            foreach (var segment in read.Buffer)
            {
                writer.Write(segment.Span);
            }

            reader.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                break;
            }
        }

        await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        context.Response.AppendTrailer("grpc-status", "0");
    }

    private static void WriteFrames(string directory)
    {
        Directory.CreateDirectory(directory);
        WriteFrame(Path.Combine(directory, "route-request.grpc"), SampleRouteRequest());
        WriteFrame(Path.Combine(directory, "outcome.grpc"), SampleOutcome());
        WriteFrame(Path.Combine(directory, "route-decision.grpc"), SampleDecision());
        Console.WriteLine($"wrote route-request.grpc ({SampleRouteRequest().CalculateSize() + 5} B), outcome.grpc ({SampleOutcome().CalculateSize() + 5} B), "
            + $"route-decision.grpc ({SampleDecision().CalculateSize() + 5} B) to {directory}");
    }

    // gRPC length-prefixed message: compressed flag 0, 4-byte big-endian length, the protobuf bytes.
    private static void WriteFrame(string path, IMessage message)
    {
        var body = message.ToByteArray();
        var frame = new byte[5 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)body.Length);
        body.CopyTo(frame, 5);
        File.WriteAllBytes(path, frame);
    }

    private static string Decode(string type, byte[] data)
    {
        if (data.Length < 5 || data[0] != 0)
        {
            throw new ArgumentException($"not an uncompressed gRPC frame ({data.Length} bytes)");
        }

        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(1));
        if (data.Length != 5 + length)
        {
            throw new ArgumentException($"frame says {length} bytes, file holds {data.Length - 5} after the prefix");
        }

        var body = new ReadOnlySequence<byte>(data, 5, length);
        IMessage message = type switch
        {
            "route-decision" => RouteDecision.Parser.ParseFrom(body),
            "outcome-ack" => OutcomeAck.Parser.ParseFrom(body),
            "route-request" => RouteRequest.Parser.ParseFrom(body),
            "outcome" => Outcome.Parser.ParseFrom(body),
            _ => throw new ArgumentException($"unknown message type '{type}'"),
        };
        return string.Create(CultureInfo.InvariantCulture, $"{JsonFormatter.Default.Format(message)} ({data.Length} B frame)");
    }

    private static string Option(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : throw new ArgumentException($"{name} is required");
    }

    private static IPEndPoint ParseEndpoint(string value) =>
        IPEndPoint.TryParse(value, out var endpoint) && endpoint.Port != 0
            ? endpoint
            : throw new ArgumentException($"--listen needs IP:PORT with a port, e.g. 127.0.0.1:50100 (was '{value}')");
}

/// <summary><c>controlplane.v1.Routing</c> on Grpc.AspNetCore, doing only what any unary server must: parse the
/// request, answer a prebuilt message.</summary>
internal sealed class RoutingEcho : Routing.RoutingBase
{
    private static readonly RouteDecision Decision = Program.SampleDecision();
    private static readonly OutcomeAck Accepted = new() { Accepted = 1 };

    public override Task<RouteDecision> Route(RouteRequest request, global::Grpc.Core.ServerCallContext context) => Task.FromResult(Decision);

    public override Task<OutcomeAck> ReportOutcome(Outcome request, global::Grpc.Core.ServerCallContext context) => Task.FromResult(Accepted);
}
