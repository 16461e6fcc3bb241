using System.Net;
using System.Security.Cryptography;
using ControlPlane.Server.Security;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Security;

/// <summary><c>--tls-cert/--tls-key</c> and <c>--admin-tls-cert/--admin-tls-key</c>: checked when the command line is
/// parsed, every problem named with its option and file.</summary>
public sealed class ListenerTlsOptionsTests : IDisposable
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    public void Dispose() => _certificates.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_matching_PEM_certificate_and_key_are_accepted(bool rsa)
    {
        using var certificates = TestCertificates.Create(rsa);

        Assert.True(NodeOptions.TryParse(["--tls-cert", certificates.CertificatePath, "--tls-key=" + certificates.KeyPath], out var options, out var error), error);

        Assert.Equal(certificates.CertificatePath, options.TlsCertificatePath);
        Assert.Equal(certificates.KeyPath, options.TlsKeyPath);
        using var tls = ListenerTls.Load(options);
        Assert.True(tls.DataPlane!.Certificate.HasPrivateKey);
        Assert.Same(tls.DataPlane, tls.Admin);
    }

    [Fact]
    public void The_admin_listener_may_have_its_own_certificate()
    {
        using var admin = TestCertificates.Create(caName: "admin CA");

        Assert.True(NodeOptions.TryParse(
            ["--tls-cert", _certificates.CertificatePath, "--tls-key", _certificates.KeyPath, "--admin-tls-cert", admin.CertificatePath, "--admin-tls-key", admin.KeyPath],
            out var options, out var error), error);

        using var tls = ListenerTls.Load(options);
        Assert.Contains("admin CA", tls.Admin!.Certificate.Issuer, StringComparison.Ordinal);
        Assert.DoesNotContain("admin CA", tls.DataPlane!.Certificate.Issuer, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_without_its_key_is_refused()
    {
        Assert.False(NodeOptions.TryParse(["--tls-cert", _certificates.CertificatePath], out _, out var error));
        Assert.Equal("Options '--tls-cert FILE' and '--tls-key FILE' go together: give both or neither.", error);

        Assert.False(NodeOptions.TryParse(["--admin-tls-key", _certificates.KeyPath], out _, out error));
        Assert.Equal("Options '--admin-tls-cert FILE' and '--admin-tls-key FILE' go together: give both or neither.", error);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var missing = Path.Combine(_certificates.Directory, "nope.pem");

        Assert.False(NodeOptions.TryParse(["--tls-cert", missing, "--tls-key", _certificates.KeyPath], out _, out var error));
        Assert.Equal($"Invalid --tls-cert '{missing}': file not found.", error);

        Assert.False(NodeOptions.TryParse(["--tls-cert", _certificates.CertificatePath, "--tls-key", missing], out _, out error));
        Assert.Equal($"Invalid --tls-key '{missing}': file not found.", error);
    }

    [Fact]
    public void A_key_of_another_certificate_is_refused()
    {
        using var other = TestCertificates.Create();

        Assert.False(NodeOptions.TryParse(["--tls-cert", _certificates.CertificatePath, "--tls-key", other.KeyPath], out _, out var error));
        Assert.Equal($"Invalid --tls-key '{other.KeyPath}': the private key does not match the certificate in --tls-cert '{_certificates.CertificatePath}'.", error);

        Assert.False(NodeOptions.TryParse(
            ["--admin-tls-cert", _certificates.CertificatePath, "--admin-tls-key", other.KeyPath], out _, out error));
        Assert.StartsWith($"Invalid --admin-tls-key '{other.KeyPath}': the private key does not match", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_a_certificate_or_not_a_key_is_refused()
    {
        var garbage = Path.Combine(_certificates.Directory, "garbage.pem");
        File.WriteAllText(garbage, "not pem at all\n");

        Assert.False(NodeOptions.TryParse(["--tls-cert", garbage, "--tls-key", _certificates.KeyPath], out _, out var error));
        Assert.Equal($"Invalid --tls-cert '{garbage}': no '-----BEGIN CERTIFICATE-----' block found.", error);

        // The key and certificate swapped.
        Assert.False(NodeOptions.TryParse(["--tls-cert", _certificates.CertificatePath, "--tls-key", _certificates.CertificatePath], out _, out error));
        Assert.StartsWith($"Invalid --tls-key '{_certificates.CertificatePath}': no ECDSA private key", error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_encrypted_key_is_refused_with_a_hint()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var encrypted = Path.Combine(_certificates.Directory, "encrypted.key");
        File.WriteAllText(encrypted, key.ExportEncryptedPkcs8PrivateKeyPem("secret",
            new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000)));

        Assert.False(NodeOptions.TryParse(["--tls-cert", _certificates.CertificatePath, "--tls-key", encrypted], out _, out var error));
        Assert.StartsWith($"Invalid --tls-key '{encrypted}': the private key is encrypted", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Plaintext_listeners_off_loopback_are_warned_about()
    {
        Assert.Empty(ListenerTls.PlaintextWarnings(new NodeOptions()));

        var exposed = new NodeOptions { GrpcEndpoint = new IPEndPoint(IPAddress.Any, 50051), AdminEndpoint = new IPEndPoint(IPAddress.Parse("10.0.0.5"), 8080) };
        var warnings = ListenerTls.PlaintextWarnings(exposed).ToArray();
        Assert.Equal(2, warnings.Length);
        Assert.Contains("0.0.0.0:50051", warnings[0], StringComparison.Ordinal);
        Assert.Contains("10.0.0.5:8080", warnings[1], StringComparison.Ordinal);

        Assert.Empty(ListenerTls.PlaintextWarnings(exposed with { TlsCertificatePath = "c", TlsKeyPath = "k" }));
        Assert.Single(ListenerTls.PlaintextWarnings(exposed with { AdminTlsCertificatePath = "c", AdminTlsKeyPath = "k" }));
    }
}
