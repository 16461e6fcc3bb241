using System.Globalization;
using System.Net;
using System.Text;
using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Client;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;

namespace ControlPlane.Grpc.Benchmarks;

/// <summary>One benchmark run: starts both servers and both clients once, warms every scenario up, then
/// alternates the scenarios in rounds so drift (thermal, GC, other load) hits them alike.</summary>
internal sealed class BenchmarkRun : IAsyncDisposable
{
    private readonly BenchmarkSettings _settings;
    private readonly WebApplication _rawServer;
    private readonly WebApplication _grpcServer;
    private readonly HttpClient _http;
    private readonly Uri _rawUri;
    private readonly byte[] _rawPayload;
    private readonly Uri _grpcUnaryUri;
    private readonly byte[] _grpcFrame;
    private readonly GrpcChannel _channel;
    private readonly CallInvoker _invoker;
    private readonly Method<EchoRequest, EchoResponse> _unary;
    private readonly Method<EchoRequest, EchoResponse> _stream;
    private readonly EchoRequest _unaryRequest;
    private readonly EchoRequest _streamRequest;

    private BenchmarkRun(BenchmarkSettings settings, WebApplication rawServer, WebApplication grpcServer)
    {
        _settings = settings;
        _rawServer = rawServer;
        _grpcServer = grpcServer;
        var payload = ByteString.CopyFrom(new byte[settings.PayloadBytes]);
        _unaryRequest = new EchoRequest { Message = "bench", Payload = payload };
        _streamRequest = new EchoRequest { Message = "bench", Payload = payload, Count = settings.StreamCount };
        // The baseline moves the same bytes a gRPC unary call does: the 5-byte prefix and the message.
        _rawPayload = new byte[GrpcProtocol.MessageHeaderSize + _unaryRequest.CalculateSize()];
        _rawUri = new Uri(BenchmarkServers.Address(rawServer) + "/echo");
        _http = new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = true, UseProxy = false, UseCookies = false })
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        _channel = GrpcChannel.ForAddress(BenchmarkServers.Address(grpcServer));
        _grpcUnaryUri = new Uri(BenchmarkServers.Address(grpcServer) + "/" + BenchmarkServers.ServiceName + "/Unary");
        _grpcFrame = new byte[_rawPayload.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(_grpcFrame.AsSpan(1), (uint)(_rawPayload.Length - GrpcProtocol.MessageHeaderSize));
        _unaryRequest.WriteTo(_grpcFrame.AsSpan(GrpcProtocol.MessageHeaderSize));
        _invoker = _channel.CreateCallInvoker();
        var marshallerRequest = Marshallers.Protobuf<EchoRequest>();
        var marshallerResponse = Marshallers.Protobuf<EchoResponse>();
        _unary = new Method<EchoRequest, EchoResponse>(MethodType.Unary, BenchmarkServers.ServiceName, "Unary", marshallerRequest, marshallerResponse);
        _stream = new Method<EchoRequest, EchoResponse>(MethodType.ServerStreaming, BenchmarkServers.ServiceName, "Stream", marshallerRequest, marshallerResponse);
    }

    public static async Task<BenchmarkRun> StartAsync(BenchmarkSettings settings)
    {
        var raw = await BenchmarkServers.StartRawEchoAsync();
        var grpc = await BenchmarkServers.StartGrpcAsync();
        return new BenchmarkRun(settings, raw, grpc);
    }

    public async Task<BenchmarkReport> ExecuteAsync(Action<string> progress)
    {
        var scenarios = new (string Name, string Unit, Func<Task<int>> Operation)[]
        {
            ("baseline: raw HTTP/2 echo (HttpClient + Kestrel)", "calls", RawEchoAsync),
            ("gRPC unary (our client + our server)", "calls", GrpcUnaryAsync),
            ($"gRPC server-streaming ({_settings.StreamCount} msgs/call)", "messages", GrpcStreamAsync),
            ("isolation: hand-framed gRPC unary (HttpClient + our server)", "calls", HandFramedGrpcAsync),
        };

        var report = new BenchmarkReport(scenarios.Select(s => (s.Name, s.Unit)).ToArray());
        if (_settings.WarmupSeconds > 0)
        {
            foreach (var (name, _, operation) in scenarios)
            {
                progress($"warm-up: {name}");
                await LoadGenerator.RunAsync(operation, _settings.Concurrency, TimeSpan.FromSeconds(_settings.WarmupSeconds));
            }
        }

        for (var i = 0; i < scenarios.Length; i++)
        {
            report.SetAllocations(i, await LoadGenerator.AllocatedBytesPerOperationAsync(scenarios[i].Operation));
        }

        for (var round = 1; round <= _settings.Rounds; round++)
        {
            for (var i = 0; i < scenarios.Length; i++)
            {
                var result = await LoadGenerator.RunAsync(scenarios[i].Operation, _settings.Concurrency, TimeSpan.FromSeconds(_settings.Seconds));
                report.Add(i, result);
                progress($"round {round}: {scenarios[i].Name}: {result.UnitsPerSecond:F0} {scenarios[i].Unit}/s, p50 {result.P50Ms:F3} ms, p99 {result.P99Ms:F3} ms, CPU {result.CpuMicrosecondsPerUnit:F1} µs/{scenarios[i].Unit[..^1]}");
            }
        }

        return report;
    }

    private async Task<int> RawEchoAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _rawUri)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(_rawPayload),
        };
        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        return body.Length == _rawPayload.Length ? 1 : throw new InvalidOperationException($"Echo returned {body.Length} bytes, status {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body)}");
    }

    private async Task<int> GrpcUnaryAsync()
    {
        var response = await _invoker.UnaryAsync(_unary, _unaryRequest);
        return response.Payload.Length == _settings.PayloadBytes ? 1 : throw new InvalidOperationException("Echo payload differs.");
    }

    // Our server driven by the bare HttpClient of the baseline: splits the gap between client and server.
    private async Task<int> HandFramedGrpcAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _grpcUnaryUri)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(_grpcFrame),
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        return response.TrailingHeaders.TryGetValues("grpc-status", out var status) && status.First() == "0" && body.Length > 5
            ? 1
            : throw new InvalidOperationException("Hand-framed call failed.");
    }

    private async Task<int> GrpcStreamAsync()
    {
        using var call = _invoker.ServerStreaming(_stream, _streamRequest);
        var count = 0;
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            count++;
        }

        return count == _settings.StreamCount ? count : throw new InvalidOperationException($"Stream returned {count} messages.");
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        _http.Dispose();
        await _rawServer.StopAsync();
        await _grpcServer.StopAsync();
        await _rawServer.DisposeAsync();
        await _grpcServer.DisposeAsync();
    }
}

/// <summary>Results of every round per scenario; medians and the gRPC/baseline ratio.</summary>
internal sealed class BenchmarkReport((string Name, string Unit)[] scenarios)
{
    private readonly List<LoadResult>[] _results = scenarios.Select(_ => new List<LoadResult>()).ToArray();

    private readonly double[] _allocations = new double[scenarios.Length];

    /// <summary>The 1-minute load average when the run started: other work on the machine skews throughput.</summary>
    public string LoadAverageAtStart { get; } = LoadAverage();

    public void Add(int scenario, LoadResult result) => _results[scenario].Add(result);

    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    public void SetAllocations(int scenario, double bytesPerOperation) => _allocations[scenario] = bytesPerOperation;

    public double MedianUnitsPerSecond(int scenario) => Median(_results[scenario].Select(r => r.UnitsPerSecond));

    public string ToMarkdown(BenchmarkSettings settings)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"Concurrency {settings.Concurrency}, payload {settings.PayloadBytes} B, {settings.Seconds} s per scenario x {settings.Rounds} rounds (alternated), warm-up {settings.WarmupSeconds} s; {Environment.ProcessorCount} cores; load average at start {LoadAverageAtStart}, at end {LoadAverage()}.");
        sb.AppendLine();
        sb.AppendLine("| scenario | unit | per round (/s) | median (/s) | p50 latency (ms) | p99 latency (ms) | CPU per unit (µs, client+server) | allocated per call (B, client+server) |");
        sb.AppendLine("|---|---|---|---:|---:|---:|---:|---:|");
        for (var i = 0; i < scenarios.Length; i++)
        {
            var rounds = string.Join(" / ", _results[i].Select(r => r.UnitsPerSecond.ToString("F0", inv)));
            sb.AppendLine(inv, $"| {scenarios[i].Name} | {scenarios[i].Unit} | {rounds} | {MedianUnitsPerSecond(i):F0} | {Median(_results[i].Select(r => r.P50Ms)):F3} | {Median(_results[i].Select(r => r.P99Ms)):F3} | {Median(_results[i].Select(r => r.CpuMicrosecondsPerUnit)):F1} | {_allocations[i]:F0} |");
        }

        var baseline = MedianUnitsPerSecond(0);
        var unary = MedianUnitsPerSecond(1);
        // Each round runs the scenarios back to back, so a per-round ratio cancels slow drift in machine load.
        var perRound = _results[1].Zip(_results[0], (g, b) => g.UnitsPerSecond / b.UnitsPerSecond).ToArray();
        sb.AppendLine();
        sb.AppendLine(inv, $"gRPC unary / baseline: ratio of medians {unary / baseline:P1}; per round {string.Join(" / ", perRound.Select(r => r.ToString("P0", inv)))}, median {Median(perRound):P1} (target >= 80%)");
        sb.AppendLine(inv, $"CPU per call, baseline / gRPC unary: {Median(_results[0].Select(r => r.CpuMicrosecondsPerUnit)) / Median(_results[1].Select(r => r.CpuMicrosecondsPerUnit)):P1} (the throughput ratio the machine would give without competing load)");
        if (scenarios.Length > 3)
        {
            sb.AppendLine(inv, $"hand-framed HttpClient gRPC unary (our server only) / baseline: {MedianUnitsPerSecond(3) / baseline:P1}; our client / hand-framed client: {unary / MedianUnitsPerSecond(3):P1}");
        }
        return sb.ToString();
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
