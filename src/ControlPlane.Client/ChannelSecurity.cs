using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;

namespace ControlPlane.Client;

/// <summary>The credential and TLS trust of a channel built by <see cref="ControlPlaneClient.CreateChannel"/>.</summary>
internal static class ChannelSecurity
{
    private const string AuthorizationHeader = "authorization";

    /// <summary>Trusts exactly <see cref="ControlPlaneClientOptions.RootCertificate"/> when it is set (https only).</summary>
    /// <exception cref="ArgumentException">A root certificate for an <c>http</c> address.</exception>
    public static void ConfigureTrust(SocketsHttpHandler handler, Uri address, ControlPlaneClientOptions options)
    {
        if (options.RootCertificate is not { } root)
        {
            return;
        }

        if (address.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"ControlPlaneClientOptions.RootCertificate applies to https addresses, not {address}.", nameof(address));
        }

        handler.SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, errors) => Trusted(root, certificate, errors),
        };
    }

    /// <summary>Adds the credential to the channel options: <c>authorization: Bearer …</c> on every call.</summary>
    /// <exception cref="ArgumentException">A credential over plaintext to a non-loopback address without
    /// <see cref="ControlPlaneClientOptions.AllowCredentialsWithoutTls"/>.</exception>
    public static void ConfigureCredential(GrpcChannelOptions channel, Uri address, ControlPlaneClientOptions options)
    {
        if (!options.HasCredential)
        {
            return;
        }

        var secure = address.Scheme == Uri.UriSchemeHttps;
        if (!secure && !options.AllowCredentialsWithoutTls && !IsLoopback(address))
        {
            throw new ArgumentException(
                $"A bearer credential would be sent in clear text to {address}: use an https address, or set ControlPlaneClientOptions.AllowCredentialsWithoutTls.",
                nameof(address));
        }

        var provider = options.ApiKeyProvider;
        var fixedValue = options.ApiKey is { } token ? "Bearer " + token : null;
        var credential = CallCredentials.FromInterceptor(async (context, metadata) =>
        {
            var value = fixedValue;
            if (provider is not null)
            {
                var given = await provider(context.CancellationToken).ConfigureAwait(false);
                if (given is null || !ControlPlaneClientOptions.IsValidToken(given))
                {
                    throw new InvalidOperationException("ControlPlaneClientOptions.ApiKeyProvider returned an empty or invalid token.");
                }

                value = "Bearer " + given;
            }

            metadata.Add(AuthorizationHeader, value!);
        });
        channel.Credentials = ChannelCredentials.Create(secure ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, credential);
        // Loopback h2c (the embedded default) or explicitly allowed: call credentials over a plaintext channel.
        channel.UnsafeUseInsecureChannelCallCredentials = !secure;
    }

    private static bool Trusted(X509Certificate2 root, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
        {
            return false;
        }

        using var server = new X509Certificate2(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(server);
    }

    private static bool IsLoopback(Uri address) =>
        address.IsLoopback || (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}
