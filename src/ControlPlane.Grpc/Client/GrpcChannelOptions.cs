namespace ControlPlane.Grpc.Client;

/// <summary>Settings of a <see cref="GrpcChannel"/>. Defaults are written where each option is declared;
/// <see cref="GrpcChannel.ForAddress(Uri, GrpcChannelOptions?)"/> validates them.</summary>
public sealed class GrpcChannelOptions
{
    /// <summary>Largest response message accepted, before and after decompression; null means no limit.</summary>
    /// <value>Positive or null. Defaults to 4 MiB.</value>
    public int? MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Largest request message sent (serialized, before compression); null means no limit.
    /// A larger message fails the call locally with RESOURCE_EXHAUSTED.</summary>
    /// <value>Positive or null. Defaults to null.</value>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>Compression of request messages: <c>gzip</c>, <c>deflate</c>, or null/<c>identity</c> for none.
    /// Calls can override it with <see cref="CallOptions.RequestCompression"/>.</summary>
    /// <value>Defaults to null (no compression).</value>
    public string? RequestCompression { get; set; }

    /// <summary>Opens more HTTP/2 connections when one reaches the server's stream limit.</summary>
    /// <value>Defaults to true.</value>
    public bool EnableMultipleHttp2Connections { get; set; } = true;

    /// <summary>How long a connection is reused before it is replaced (lets DNS and load balancers rebalance).</summary>
    /// <value>At least 1 s, or <see cref="Timeout.InfiniteTimeSpan"/>. Defaults to 5 min.</value>
    public TimeSpan PooledConnectionLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long an idle connection stays open.</summary>
    /// <value>At least 1 s, or <see cref="Timeout.InfiniteTimeSpan"/>. Defaults to 2 min.</value>
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Interval of HTTP/2 PING frames on a connection with active calls, to detect dead peers.</summary>
    /// <value>At least 1 s, or <see cref="Timeout.InfiniteTimeSpan"/> to disable. Defaults to 60 s.</value>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a PING may go unanswered before the connection is closed.</summary>
    /// <value>At least 1 s. Defaults to 20 s.</value>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Time allowed to open a TCP connection.</summary>
    /// <value>Between 100 ms and 5 min. Defaults to 10 s.</value>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A handler to send requests through instead of the channel's own <see cref="SocketsHttpHandler"/>
    /// (the settings above that configure the handler are then ignored).</summary>
    /// <value>Defaults to null.</value>
    public HttpMessageHandler? HttpHandler { get; set; }

    /// <summary>Whether disposing the channel disposes <see cref="HttpHandler"/>.</summary>
    /// <value>Defaults to true.</value>
    public bool DisposeHttpHandler { get; set; } = true;

    /// <summary>The clock deadlines are measured against.</summary>
    /// <value>Defaults to <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The <c>user-agent</c> header sent with every call.</summary>
    /// <value>Non-empty. Defaults to <c>grpc-controlplane-dotnet/1.0</c>.</value>
    public string UserAgent { get; set; } = "grpc-controlplane-dotnet/1.0";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (MaxReceiveMessageSize is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxReceiveMessageSize), MaxReceiveMessageSize, "Must be positive or null.");
        }

        if (MaxSendMessageSize is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSendMessageSize), MaxSendMessageSize, "Must be positive or null.");
        }

        if (RequestCompression is not null and not GrpcProtocol.IdentityEncoding && GrpcCompression.Find(RequestCompression) is null)
        {
            throw new ArgumentException($"Unsupported request compression '{RequestCompression}'. Supported: {GrpcCompression.AcceptEncoding}.", nameof(RequestCompression));
        }

        RequireInterval(PooledConnectionLifetime, nameof(PooledConnectionLifetime));
        RequireInterval(PooledConnectionIdleTimeout, nameof(PooledConnectionIdleTimeout));
        RequireInterval(KeepAlivePingDelay, nameof(KeepAlivePingDelay));
        if (KeepAlivePingTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(KeepAlivePingTimeout), KeepAlivePingTimeout, "Must be at least 1 s.");
        }

        if (ConnectTimeout < TimeSpan.FromMilliseconds(100) || ConnectTimeout > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentOutOfRangeException(nameof(ConnectTimeout), ConnectTimeout, "Must be between 100 ms and 5 min.");
        }

        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        if (string.IsNullOrWhiteSpace(UserAgent))
        {
            throw new ArgumentException("Must not be empty.", nameof(UserAgent));
        }
    }

    private static void RequireInterval(TimeSpan value, string name)
    {
        if (value != Timeout.InfiniteTimeSpan && value < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be at least 1 s, or infinite.");
        }
    }
}
