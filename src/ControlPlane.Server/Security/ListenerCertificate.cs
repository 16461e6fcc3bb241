using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ControlPlane.Server.Security;

/// <summary>The certificate of a TLS listener, read from PEM files: the leaf (with its private key) and any further
/// certificates of the certificate file (intermediates, sent in the handshake). Owns them.</summary>
internal sealed class ListenerCertificate : IDisposable
{
    private ListenerCertificate(X509Certificate2 certificate, X509Certificate2Collection chain)
    {
        Certificate = certificate;
        Chain = chain;
    }

    /// <summary>The leaf certificate with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The certificate file's other certificates (intermediates), in file order.</summary>
    public X509Certificate2Collection Chain { get; }

    /// <summary>Reads a PEM certificate (the first CERTIFICATE block is the leaf) and its unencrypted PEM private key
    /// (PKCS#8, PKCS#1 or SEC1; RSA or ECDSA); false with an error naming the option, the file and the problem: a missing
    /// or unreadable file, no certificate, no key, an encrypted key, a key that does not match the certificate.</summary>
    public static bool TryLoad(string certificatePath, string keyPath, string certificateOption, string keyOption,
        out ListenerCertificate? loaded, out string error)
    {
        loaded = null;
        if (!TryRead(certificatePath, certificateOption, out var certificatePem, out error)
            || !TryRead(keyPath, keyOption, out var keyPem, out error))
        {
            return false;
        }

        var all = new X509Certificate2Collection();
        try
        {
            all.ImportFromPem(certificatePem);
        }
        catch (CryptographicException ex)
        {
            error = $"Invalid {certificateOption} '{certificatePath}': not a PEM certificate ({ex.Message}).";
            return false;
        }

        if (all.Count == 0)
        {
            error = $"Invalid {certificateOption} '{certificatePath}': no '-----BEGIN CERTIFICATE-----' block found.";
            return false;
        }

        try
        {
            var leaf = all[0];
            X509Certificate2 withKey;
            if (leaf.GetRSAPublicKey() is { } rsaPublic)
            {
                rsaPublic.Dispose();
                using var rsa = RSA.Create();
                if (!TryImportKey(rsa, keyPem, keyPath, keyOption, out error))
                {
                    return false;
                }

                if (!TryPair(() => leaf.CopyWithPrivateKey(rsa), certificatePath, keyPath, certificateOption, keyOption, out withKey, out error))
                {
                    return false;
                }
            }
            else if (leaf.GetECDsaPublicKey() is { } ecPublic)
            {
                ecPublic.Dispose();
                using var ec = ECDsa.Create();
                if (!TryImportKey(ec, keyPem, keyPath, keyOption, out error))
                {
                    return false;
                }

                if (!TryPair(() => leaf.CopyWithPrivateKey(ec), certificatePath, keyPath, certificateOption, keyOption, out withKey, out error))
                {
                    return false;
                }
            }
            else
            {
                error = $"Invalid {certificateOption} '{certificatePath}': the certificate's key is neither RSA nor ECDSA.";
                return false;
            }

            // A PKCS#12 round trip gives the key a form every platform's TLS stack accepts (an ephemeral key is refused
            // by SChannel on Windows).
            using (withKey)
            {
                var certificate = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
                var chain = new X509Certificate2Collection();
                for (var i = 1; i < all.Count; i++)
                {
                    chain.Add(all[i]);
                }

                all[0].Dispose();
                loaded = new ListenerCertificate(certificate, chain);
                error = "";
                return true;
            }
        }
        finally
        {
            if (loaded is null)
            {
                foreach (var certificate in all)
                {
                    certificate.Dispose();
                }
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Certificate.Dispose();
        foreach (var certificate in Chain)
        {
            certificate.Dispose();
        }
    }

    // Certificate and key files are small; a bound keeps a mistaken path (a device, a huge file) from being read whole.
    private const long MaxPemBytes = 1024 * 1024;

    private static bool TryRead(string path, string option, out string text, out string error)
    {
        text = "";
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                error = $"Invalid {option} '{path}': file not found.";
                return false;
            }

            if (info.Length > MaxPemBytes)
            {
                error = $"Invalid {option} '{path}': {info.Length} bytes, more than the {MaxPemBytes} a PEM file may have.";
                return false;
            }

            text = File.ReadAllText(path);
            error = "";
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = $"Invalid {option} '{path}': cannot be read ({ex.Message}).";
            return false;
        }
    }

    private static bool TryImportKey(AsymmetricAlgorithm key, string pem, string keyPath, string keyOption, out string error)
    {
        if (pem.Contains("ENCRYPTED", StringComparison.Ordinal))
        {
            error = $"Invalid {keyOption} '{keyPath}': the private key is encrypted; give an unencrypted PEM key (e.g. 'openssl pkey -in KEY -out KEY.pem') and protect the file with mode 0600.";
            return false;
        }

        try
        {
            key.ImportFromPem(pem);
            error = "";
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            error = $"Invalid {keyOption} '{keyPath}': no {(key is RSA ? "RSA" : "ECDSA")} private key matching the certificate's algorithm could be read ({ex.Message}).";
            return false;
        }
    }

    private static bool TryPair(Func<X509Certificate2> pair, string certificatePath, string keyPath, string certificateOption, string keyOption,
        out X509Certificate2 withKey, out string error)
    {
        try
        {
            withKey = pair();
            error = "";
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            withKey = null!;
            error = $"Invalid {keyOption} '{keyPath}': the private key does not match the certificate in {certificateOption} '{certificatePath}'.";
            return false;
        }
    }
}
