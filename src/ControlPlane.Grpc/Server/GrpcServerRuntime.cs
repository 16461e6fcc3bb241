using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grpc.Server;

/// <summary>What every call shares: options, time, logging and the server's shutdown state.
/// Shutdown refuses new calls at once and cancels in-flight calls after the shutdown timeout.</summary>
internal sealed class GrpcServerRuntime : IDisposable
{
    private static readonly string[] StatusStrings =
        [.. Enumerable.Range(0, 17).Select(i => i.ToString(CultureInfo.InvariantCulture))];

    private readonly CancellationTokenSource _shutdown = new();
    private readonly CancellationTokenRegistration _stoppingRegistration;
    private ITimer? _shutdownTimer;
    private volatile bool _stopping;

    public GrpcServerRuntime(IOptions<GrpcServerOptions> options, TimeProvider timeProvider, ILoggerFactory loggerFactory, IHostApplicationLifetime lifetime)
    {
        Options = options.Value;
        TimeProvider = timeProvider;
        Logger = loggerFactory.CreateLogger("ControlPlane.Grpc.Server");
        _stoppingRegistration = lifetime.ApplicationStopping.Register(static s => ((GrpcServerRuntime)s!).BeginShutdown(), this);
    }

    public GrpcServerOptions Options { get; }

    public TimeProvider TimeProvider { get; }

    public ILogger Logger { get; }

    /// <summary>True once shutdown started: new calls are refused.</summary>
    public bool IsStopping => _stopping;

    /// <summary>Fires when the shutdown timeout has elapsed.</summary>
    public CancellationToken ShutdownToken => _shutdown.Token;

    public void BeginShutdown()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        GrpcServerLog.Stopping(Logger, Options.ShutdownTimeout);
        _shutdownTimer = TimeProvider.CreateTimer(
            static s =>
            {
                var runtime = (GrpcServerRuntime)s!;
                GrpcServerLog.ShutdownTimeoutElapsed(runtime.Logger);
                runtime._shutdown.Cancel();
            },
            this, Options.ShutdownTimeout, Timeout.InfiniteTimeSpan);
    }

    public void Dispose()
    {
        _stoppingRegistration.Dispose();
        _shutdownTimer?.Dispose();
        _shutdown.Dispose();
    }

    public static string StatusString(StatusCode code)
    {
        var i = (int)code;
        return (uint)i < (uint)StatusStrings.Length ? StatusStrings[i] : i.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Checks what must hold before a call starts (HTTP/2, POST, gRPC content type, server
    /// not stopping). Returns null when the call may proceed, else the task writing the refusal.</summary>
    public Task? Reject(HttpContext http)
    {
        var request = http.Request;
        if (!HttpProtocol.IsHttp2(request.Protocol) && !HttpProtocol.IsHttp3(request.Protocol))
        {
            http.Response.Headers.Upgrade = "h2c";
            return RejectHttp(http, StatusCodes.Status426UpgradeRequired,
                $"gRPC requires HTTP/2: request protocol '{request.Protocol}' is not supported. Use HTTP/2 (h2c with prior knowledge on this port).");
        }

        if (!HttpMethods.IsPost(request.Method))
        {
            http.Response.Headers.Allow = "POST";
            return RejectHttp(http, StatusCodes.Status405MethodNotAllowed,
                $"gRPC requires the POST method: '{request.Method}' is not supported.");
        }

        if (!GrpcProtocol.IsGrpcContentType(request.ContentType))
        {
            return RejectHttp(http, StatusCodes.Status415UnsupportedMediaType,
                $"Content-Type '{request.ContentType}' is not supported: gRPC requires 'application/grpc'.");
        }

        if (_stopping)
        {
            WriteTrailersOnly(http, StatusCode.Unavailable, "Server is shutting down.");
            return Task.CompletedTask;
        }

        return null;
    }

    /// <summary>Answers a call that cannot start with a Trailers-Only response (HTTP 200, status in headers, no body).</summary>
    public static void WriteTrailersOnly(HttpContext http, StatusCode code, string detail)
    {
        var response = http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcProtocol.ContentType;
        var headers = response.Headers;
        headers.GrpcAcceptEncoding = GrpcCompression.AcceptEncoding;
        headers.GrpcStatus = StatusString(code);
        if (detail.Length > 0)
        {
            headers.GrpcMessage = GrpcPercentEncoding.Encode(detail);
        }
    }

    private Task RejectHttp(HttpContext http, int httpStatus, string reason)
    {
        GrpcServerLog.RequestRejected(Logger, httpStatus, reason);
        var response = http.Response;
        response.StatusCode = httpStatus;
        response.Headers[GrpcProtocol.StatusHeader] = StatusString(StatusCode.Internal);
        response.Headers[GrpcProtocol.MessageHeader] = GrpcPercentEncoding.Encode(reason);
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(reason + "\n", Encoding.UTF8);
    }
}
