using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grpc.Server;

/// <summary>Kestrel listen-option extensions for cleartext gRPC endpoints.</summary>
public static class GrpcListenOptionsExtensions
{
    /// <summary>Makes an HTTP/2-only cleartext endpoint answer HTTP/1.x requests with a clear
    /// <c>426 Upgrade Required</c> ("gRPC requires HTTP/2") instead of Kestrel's bare 400. Kestrel
    /// cannot detect HTTP/2 prior knowledge on an HTTP/1-and-2 cleartext endpoint, so the endpoint must
    /// be HTTP/2-only; this middleware peeks at the connection preface to tell the two apart.</summary>
    public static ListenOptions RefuseHttp1Requests(this ListenOptions listenOptions)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        var services = listenOptions.ApplicationServices;
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger("ControlPlane.Grpc.Server") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        listenOptions.Use(next => new Http1RefusalConnectionMiddleware(next, logger, time).OnConnectionAsync);
        return listenOptions;
    }
}

/// <summary>Peeks at the first bytes of a connection: the HTTP/2 preface goes on to Kestrel (nothing is
/// consumed), anything else gets a plain HTTP/1.1 426 response and the connection is closed.</summary>
internal sealed class Http1RefusalConnectionMiddleware(ConnectionDelegate next, ILogger logger, TimeProvider timeProvider)
{
    internal const string Reason = "gRPC requires HTTP/2: this endpoint only speaks HTTP/2 over cleartext (h2c) with prior knowledge. HTTP/1.x requests are not supported.";

    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private static readonly byte[] Refusal = BuildRefusal();

    /// <summary>How long the refused peer gets to read the answer and close first, so the socket is not
    /// reset under unread request bytes.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(2);

    /// <summary>How long a new connection may stay silent before it is dropped (Kestrel's default
    /// request-headers timeout).</summary>
    private static readonly TimeSpan PrefaceTimeout = TimeSpan.FromSeconds(30);

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        bool isHttp2;
        try
        {
            isHttp2 = await PeekPrefaceAsync(connection).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ConnectionResetException)
        {
            // Closed, reset, or silent past the timeout before saying which protocol it speaks.
            return;
        }

        if (isHttp2)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        await RefuseAsync(connection).ConfigureAwait(false);
    }

    /// <summary>True for the HTTP/2 preface (or a connection that ended before showing one: Kestrel
    /// handles that); false for anything else.</summary>
    private async Task<bool> PeekPrefaceAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        using var timeout = new CancellationTokenSource(PrefaceTimeout, timeProvider);
        using var closed = connection.ConnectionClosed.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), timeout);
        while (true)
        {
            var result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            var buffer = result.Buffer;
            var verdict = Classify(buffer);
            if (verdict == PrefaceVerdict.NeedMore && !result.IsCompleted && !result.IsCanceled)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            // Nothing consumed or examined: Kestrel's HTTP/2 connection reads the same bytes at once.
            input.AdvanceTo(buffer.Start);
            return verdict != PrefaceVerdict.NotHttp2;
        }
    }

    private async Task RefuseAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        GrpcServerLog.RequestRejected(logger, 426, Reason);
        using var drain = new CancellationTokenSource(DrainTimeout, timeProvider);
        try
        {
            await connection.Transport.Output.WriteAsync(Refusal, drain.Token).ConfigureAwait(false);
            await connection.Transport.Output.CompleteAsync().ConfigureAwait(false);
            while (true)
            {
                var result = await input.ReadAsync(drain.Token).ConfigureAwait(false);
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ConnectionResetException)
        {
            // The peer went away, reset, or kept the connection open too long; it is closed now.
        }
    }

    private static PrefaceVerdict Classify(ReadOnlySequence<byte> buffer)
    {
        Span<byte> head = stackalloc byte[24];
        var length = (int)Math.Min(buffer.Length, Preface.Length);
        buffer.Slice(0, length).CopyTo(head);
        if (!head[..length].SequenceEqual(Preface.AsSpan(0, length)))
        {
            return PrefaceVerdict.NotHttp2;
        }

        return length == Preface.Length ? PrefaceVerdict.Http2 : PrefaceVerdict.NeedMore;
    }

    private static byte[] BuildRefusal()
    {
        var body = Reason + "\n";
        var text = "HTTP/1.1 426 Upgrade Required\r\n"
            + "Upgrade: h2c\r\n"
            + "Connection: close\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\n"
            + "grpc-status: 13\r\n"
            + "grpc-message: " + GrpcPercentEncoding.Encode(Reason) + "\r\n"
            + "Content-Length: " + Encoding.UTF8.GetByteCount(body).ToString(System.Globalization.CultureInfo.InvariantCulture) + "\r\n"
            + "\r\n"
            + body;
        return Encoding.UTF8.GetBytes(text);
    }

    private enum PrefaceVerdict
    {
        NeedMore,
        Http2,
        NotHttp2,
    }
}
