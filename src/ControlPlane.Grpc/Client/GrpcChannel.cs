using System.Collections.Concurrent;
using System.Net;

namespace ControlPlane.Grpc.Client;

/// <summary>A connection pool to one gRPC server over HTTP/2 (cleartext with prior knowledge for
/// <c>http://</c>, TLS with ALPN for <c>https://</c>). Thread-safe; create one per server and reuse it.</summary>
/// <example>
/// <code>
/// using var channel = GrpcChannel.ForAddress("http://127.0.0.1:5000");
/// var echo = new Method&lt;EchoRequest, EchoResponse&gt;(MethodType.Unary, "controlplane.v1.Diagnostics", "Echo",
///     Marshallers.Protobuf&lt;EchoRequest&gt;(), Marshallers.Protobuf&lt;EchoResponse&gt;());
/// var reply = await channel.CreateCallInvoker().UnaryAsync(echo, new EchoRequest { Message = "hi" });
/// </code>
/// </example>
public sealed class GrpcChannel : IDisposable
{
    private readonly ConcurrentDictionary<string, Uri> _methodUris = new(StringComparer.Ordinal);
    private readonly bool _disposeHandler;
    private readonly CallInvoker _invoker;

    private GrpcChannel(Uri address, GrpcChannelOptions options)
    {
        Address = address;
        TimeProvider = options.TimeProvider;
        MaxReceiveMessageSize = options.MaxReceiveMessageSize ?? int.MaxValue;
        MaxSendMessageSize = options.MaxSendMessageSize ?? int.MaxValue;
        RequestCompression = GrpcCompression.Find(options.RequestCompression);
        UserAgent = options.UserAgent;
        HttpMessageHandler handler;
        if (options.HttpHandler is { } custom)
        {
            handler = custom;
            _disposeHandler = options.DisposeHttpHandler;
        }
        else
        {
            handler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = options.EnableMultipleHttp2Connections,
                PooledConnectionLifetime = options.PooledConnectionLifetime,
                PooledConnectionIdleTimeout = options.PooledConnectionIdleTimeout,
                KeepAlivePingDelay = options.KeepAlivePingDelay,
                KeepAlivePingTimeout = options.KeepAlivePingTimeout,
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                ConnectTimeout = options.ConnectTimeout,
                AutomaticDecompression = DecompressionMethods.None,
                AllowAutoRedirect = false,
                UseCookies = false,
                UseProxy = false,
            };
            _disposeHandler = true;
        }

        // HttpMessageInvoker (not HttpClient) returns as soon as response headers arrive and adds no
        // per-request timeout token: deadlines are the call's business.
        Http = new HttpMessageInvoker(handler, disposeHandler: false);
        Handler = handler;
        _invoker = new CallInvoker(this);
    }

    /// <summary>Creates a channel to <paramref name="address"/> (e.g. <c>http://127.0.0.1:5000</c>).</summary>
    public static GrpcChannel ForAddress(string address, GrpcChannelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        return ForAddress(new Uri(address, UriKind.Absolute), options);
    }

    /// <summary>Creates a channel to <paramref name="address"/>.</summary>
    /// <exception cref="ArgumentException">The address is not http/https or an option is invalid.</exception>
    public static GrpcChannel ForAddress(Uri address, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"Address '{address}' must be an absolute http:// or https:// URI.", nameof(address));
        }

        options ??= new GrpcChannelOptions();
        options.Validate();
        return new GrpcChannel(address, options);
    }

    /// <summary>The server address.</summary>
    public Uri Address { get; }

    internal HttpMessageInvoker Http { get; }

    internal HttpMessageHandler Handler { get; }

    internal TimeProvider TimeProvider { get; }

    internal int MaxReceiveMessageSize { get; }

    internal int MaxSendMessageSize { get; }

    internal ICompressionProvider? RequestCompression { get; }

    internal string UserAgent { get; }

    /// <summary>The call API over this channel (one shared, stateless instance).</summary>
    public CallInvoker CreateCallInvoker() => _invoker;

    internal Uri GetMethodUri(string fullName) =>
        _methodUris.GetOrAdd(fullName, static (path, baseAddress) => new Uri(baseAddress, path), Address);

    /// <inheritdoc />
    public void Dispose()
    {
        Http.Dispose();
        if (_disposeHandler)
        {
            Handler.Dispose();
        }
    }
}
