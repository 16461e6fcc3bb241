using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ControlPlane.Testing;

/// <summary>A throwaway certificate authority and a server certificate it signed (for <c>localhost</c>, 127.0.0.1 and
/// ::1), written as PEM files into a temporary folder that <see cref="Dispose"/> deletes.</summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string directory) => Directory = directory;

    /// <summary>The folder holding the files.</summary>
    public string Directory { get; }

    /// <summary>The CA certificate (PEM): what clients trust.</summary>
    public string RootPath => Path.Combine(Directory, "root.pem");

    /// <summary>The server certificate (PEM, leaf only).</summary>
    public string CertificatePath => Path.Combine(Directory, "server.pem");

    /// <summary>The server certificate's unencrypted PKCS#8 private key (PEM).</summary>
    public string KeyPath => Path.Combine(Directory, "server.key");

    /// <summary>The CA certificate, for clients that take a certificate rather than a file.</summary>
    public X509Certificate2 Root => X509CertificateLoader.LoadCertificateFromFile(RootPath);

    /// <summary>Creates a CA and a server certificate (ECDSA P-256, or RSA 2048 when <paramref name="rsa"/>), valid from
    /// a day ago for 30 days.</summary>
    public static TestCertificates Create(bool rsa = false, string caName = "controlplane test CA")
    {
        var directory = Path.Combine(Path.GetTempPath(), "cp-tls-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var certificates = new TestCertificates(directory);
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={caName}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        File.WriteAllText(certificates.RootPath, ca.ExportCertificatePem());

        using AsymmetricAlgorithm key = rsa ? RSA.Create(2048) : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = key is RSA r
            ? new CertificateRequest("CN=localhost", r, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest("CN=localhost", (ECDsa)key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7f;
        using var server = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), now.AddDays(-1), now.AddDays(29), serial);
        File.WriteAllText(certificates.CertificatePath, server.ExportCertificatePem());
        File.WriteAllText(certificates.KeyPath, key.ExportPkcs8PrivateKeyPem());
        return certificates;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temporary folder.
        }
    }
}
