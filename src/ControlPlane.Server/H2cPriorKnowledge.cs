using System.Buffers;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Http.Features;

namespace ControlPlane.Server;

/// <summary>Lets one cleartext endpoint serve HTTP/1.1 (the admin JSON API) and HTTP/2 with prior knowledge (the gRPC
/// Admin service). Kestrel picks the protocol of an <c>Http1AndHttp2</c> endpoint from TLS ALPN only: without TLS it
/// speaks HTTP/1.1 and answers an HTTP/2 client's preface with HTTP_1_1_REQUIRED (checked: Grpc.Net.Client against an
/// Http1AndHttp2 endpoint fails so). This connection middleware reads the connection's first bytes without consuming
/// them; when they are the HTTP/2 preface (<c>PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n</c>) it marks the connection as if
/// ALPN had chosen <c>h2</c>, and Kestrel then runs HTTP/2 on it. Connections with TLS are left to ALPN. (Kestrel's main
/// branch detects the preface itself, <c>HttpConnection.NegotiateH2cProtocolAsync</c>; 10.0 does not.) A side effect:
/// requests on such a connection report the scheme <c>https</c>; nothing in the node reads it.</summary>
internal static class H2cPriorKnowledge
{
    /// <summary>How long a new connection may take to send enough bytes to tell its protocol.</summary>
    private static readonly TimeSpan DetectTimeout = TimeSpan.FromSeconds(10);

    private static ReadOnlySpan<byte> Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>The connection middleware.</summary>
    public static async Task DetectAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        if (connection.Features.Get<ITlsConnectionFeature>() is null && connection.Features.Get<ITlsApplicationProtocolFeature>() is null)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
            timeout.CancelAfter(DetectTimeout);
            try
            {
                if (await IsHttp2Async(connection.Transport.Input, timeout.Token))
                {
                    // Kestrel 10 chooses HTTP/2 on an Http1AndHttp2 endpoint only for a connection with a TLS feature
                    // whose ALPN result is h2; both are set (no certificate, no TLS handshake feature: nothing else
                    // reads them as TLS having happened).
                    connection.Features.Set<ITlsConnectionFeature>(NoCertificate.Instance);
                    connection.Features.Set<ITlsApplicationProtocolFeature>(H2.Instance);
                }
            }
            catch (OperationCanceledException)
            {
                // Closed or silent: Kestrel's HTTP/1.1 handling (and its timeouts) takes it from here.
            }
        }

        await next(connection);
    }

    // Examines without consuming: what was read stays in the pipe for Kestrel.
    private static async Task<bool> IsHttp2Async(System.IO.Pipelines.PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var verdict = Check(buffer);
            input.AdvanceTo(buffer.Start, verdict is null ? buffer.End : buffer.Start);
            if (verdict is { } decided)
            {
                return decided;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                return false;
            }
        }
    }

    /// <summary>True: the preface; false: something else; null: too few bytes to tell.</summary>
    internal static bool? Check(ReadOnlySequence<byte> buffer)
    {
        Span<byte> head = stackalloc byte[24];
        var length = (int)Math.Min(buffer.Length, head.Length);
        buffer.Slice(0, length).CopyTo(head);
        if (!head[..length].SequenceEqual(Preface[..length]))
        {
            return false;
        }

        return length == Preface.Length ? true : null;
    }

    private sealed class NoCertificate : ITlsConnectionFeature
    {
        public static readonly NoCertificate Instance = new();

        public System.Security.Cryptography.X509Certificates.X509Certificate2? ClientCertificate { get => null; set => throw new NotSupportedException(); }

        public Task<System.Security.Cryptography.X509Certificates.X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) =>
            Task.FromResult<System.Security.Cryptography.X509Certificates.X509Certificate2?>(null);
    }

    private sealed class H2 : ITlsApplicationProtocolFeature
    {
        public static readonly H2 Instance = new();

        public ReadOnlyMemory<byte> ApplicationProtocol { get; } = "h2"u8.ToArray();
    }
}
