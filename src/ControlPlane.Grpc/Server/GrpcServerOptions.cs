using Microsoft.Extensions.Options;

namespace ControlPlane.Grpc.Server;

/// <summary>Options of the gRPC server, validated at start-up.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>Largest request message accepted (before and after decompression); larger ones end
    /// the call with RESOURCE_EXHAUSTED, checked from the message header before buffering.</summary>
    /// <value>At least 1 byte. Defaults to 4 MiB.</value>
    public int MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Largest response message sent (uncompressed size); null means no limit.</summary>
    /// <value>Null or at least 1 byte. Defaults to null.</value>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>Encoding used to compress responses. Null mirrors the request: a call whose request
    /// carried a supported <c>grpc-encoding</c> is answered in that encoding. A call still only
    /// compresses with an encoding its client lists in <c>grpc-accept-encoding</c>.</summary>
    /// <value>Null, <c>identity</c>, <c>gzip</c> or <c>deflate</c>. Defaults to null.</value>
    public string? ResponseCompression { get; set; }

    /// <summary>When true, a handler's unexpected exception type and message are sent to the client
    /// in <c>grpc-message</c>; otherwise only a generic message is (never a stack trace).</summary>
    /// <value>Defaults to false.</value>
    public bool EnableDetailedErrors { get; set; }

    /// <summary>How long in-flight calls may run after shutdown starts before their cancellation
    /// token fires. New calls are refused (UNAVAILABLE) from the start of shutdown.</summary>
    /// <value>Between 0 and 10 minutes. Defaults to 10 s.</value>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    internal static readonly TimeSpan MaxShutdownTimeout = TimeSpan.FromMinutes(10);
}

/// <summary>Validates <see cref="GrpcServerOptions"/> at start-up.</summary>
internal sealed class GrpcServerOptionsValidator : IValidateOptions<GrpcServerOptions>
{
    public ValidateOptionsResult Validate(string? name, GrpcServerOptions options)
    {
        var errors = new List<string>();
        if (options.MaxReceiveMessageSize < 1)
        {
            errors.Add($"{nameof(GrpcServerOptions.MaxReceiveMessageSize)} must be at least 1 byte (was {options.MaxReceiveMessageSize}).");
        }

        if (options.MaxSendMessageSize is < 1)
        {
            errors.Add($"{nameof(GrpcServerOptions.MaxSendMessageSize)} must be null or at least 1 byte (was {options.MaxSendMessageSize}).");
        }

        if (options.ResponseCompression is { } encoding
            && encoding != GrpcProtocol.IdentityEncoding && GrpcCompression.Find(encoding) is null)
        {
            errors.Add($"{nameof(GrpcServerOptions.ResponseCompression)} '{encoding}' is not supported (use identity, gzip or deflate).");
        }

        if (options.ShutdownTimeout < TimeSpan.Zero || options.ShutdownTimeout > GrpcServerOptions.MaxShutdownTimeout)
        {
            errors.Add($"{nameof(GrpcServerOptions.ShutdownTimeout)} must be between 0 and 10 minutes (was {options.ShutdownTimeout}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
