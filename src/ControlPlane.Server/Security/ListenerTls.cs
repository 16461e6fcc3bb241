using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace ControlPlane.Server.Security;

/// <summary>The TLS certificates of a node's two listeners, from <c>--tls-cert/--tls-key</c> (both listeners) and
/// <c>--admin-tls-cert/--admin-tls-key</c> (the admin listener only, overriding the first pair there). A listener
/// without a certificate stays plaintext, as before.</summary>
internal sealed class ListenerTls : IDisposable
{
    private ListenerTls(ListenerCertificate? dataPlane, ListenerCertificate? admin)
    {
        DataPlane = dataPlane;
        Admin = admin;
    }

    /// <summary>The data-plane listener's certificate, or null for h2c.</summary>
    public ListenerCertificate? DataPlane { get; }

    /// <summary>The admin listener's certificate, or null for plaintext HTTP/1.1.</summary>
    public ListenerCertificate? Admin { get; }

    /// <summary>Checks the TLS options: each certificate comes with its key, the files exist, are PEM and the key matches;
    /// false with an error naming the option and file.</summary>
    public static bool Validate(NodeOptions options, out string error)
    {
        if (!TryLoad(options, out var tls, out error))
        {
            return false;
        }

        tls!.Dispose();
        return true;
    }

    /// <summary>Loads the certificates the options name (validated by <see cref="Validate"/>).</summary>
    /// <exception cref="InvalidOperationException">A file changed since the options were validated.</exception>
    public static ListenerTls Load(NodeOptions options) =>
        TryLoad(options, out var tls, out var error) ? tls! : throw new InvalidOperationException(error);

    /// <summary>A warning for each listener bound to a non-loopback address without TLS (credentials and routing data
    /// would cross the network in clear text).</summary>
    public static IEnumerable<string> PlaintextWarnings(NodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Role != NodeRole.Silo && options.TlsCertificatePath is null && !IPAddress.IsLoopback(options.GrpcEndpoint.Address))
        {
            yield return $"The data-plane gRPC listener on {options.GrpcEndpoint} is not loopback and has no TLS: bearer credentials and requests cross the network in clear text. Give --tls-cert and --tls-key.";
        }

        if ((options.AdminTlsCertificatePath ?? options.TlsCertificatePath) is null && !IPAddress.IsLoopback(options.AdminEndpoint.Address))
        {
            yield return $"The admin listener on {options.AdminEndpoint} is not loopback and has no TLS: admin credentials cross the network in clear text. Give --tls-cert and --tls-key (or --admin-tls-cert and --admin-tls-key).";
        }
    }

    /// <summary>Serves the data plane over TLS when it has a certificate: HTTP/2 only, negotiated by ALPN.</summary>
    public void ConfigureDataPlane(ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        listen.Protocols = HttpProtocols.Http2;
        if (DataPlane is { } certificate)
        {
            Use(listen, certificate);
        }
    }

    /// <summary>The admin listener speaks HTTP/1.1 and HTTP/2: over TLS when it has a certificate (ALPN picks), else in
    /// plaintext (HTTP/2 by prior knowledge, see <see cref="H2cPriorKnowledge"/>).</summary>
    public void ConfigureAdmin(ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        listen.Protocols = HttpProtocols.Http1AndHttp2;
        if (Admin is { } certificate)
        {
            Use(listen, certificate);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        DataPlane?.Dispose();
        if (!ReferenceEquals(Admin, DataPlane))
        {
            Admin?.Dispose();
        }
    }

    private static void Use(ListenOptions listen, ListenerCertificate certificate) =>
        listen.UseHttps(https =>
        {
            https.ServerCertificate = certificate.Certificate;
            https.ServerCertificateChain = certificate.Chain;
        });

    private static bool TryLoad(NodeOptions options, out ListenerTls? tls, out string error)
    {
        ArgumentNullException.ThrowIfNull(options);
        tls = null;
        if (!Paired(options.TlsCertificatePath, options.TlsKeyPath, "--tls-cert", "--tls-key", out error)
            || !Paired(options.AdminTlsCertificatePath, options.AdminTlsKeyPath, "--admin-tls-cert", "--admin-tls-key", out error))
        {
            return false;
        }

        ListenerCertificate? dataPlane = null;
        if (options.TlsCertificatePath is not null
            && !ListenerCertificate.TryLoad(options.TlsCertificatePath, options.TlsKeyPath!, "--tls-cert", "--tls-key", out dataPlane, out error))
        {
            return false;
        }

        var admin = dataPlane;
        if (options.AdminTlsCertificatePath is not null
            && !ListenerCertificate.TryLoad(options.AdminTlsCertificatePath, options.AdminTlsKeyPath!, "--admin-tls-cert", "--admin-tls-key", out admin, out error))
        {
            dataPlane?.Dispose();
            return false;
        }

        tls = new ListenerTls(dataPlane, admin);
        return true;
    }

    private static bool Paired(string? certificate, string? key, string certificateOption, string keyOption, out string error)
    {
        error = (certificate is null) == (key is null) ? "" : $"Options '{certificateOption} FILE' and '{keyOption} FILE' go together: give both or neither.";
        return error.Length == 0;
    }
}
