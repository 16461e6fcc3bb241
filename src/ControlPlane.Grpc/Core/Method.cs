namespace ControlPlane.Grpc;

/// <summary>Describes one gRPC method: its shape, its path and how its messages are (de)serialized.</summary>
/// <typeparam name="TRequest">Request message type.</typeparam>
/// <typeparam name="TResponse">Response message type.</typeparam>
public sealed class Method<TRequest, TResponse>
{
    /// <summary>Creates a method descriptor.</summary>
    public Method(MethodType type, string serviceName, string name, Marshaller<TRequest> requestMarshaller, Marshaller<TResponse> responseMarshaller)
    {
        ArgumentException.ThrowIfNullOrEmpty(serviceName);
        ArgumentException.ThrowIfNullOrEmpty(name);
        Type = type;
        ServiceName = serviceName;
        Name = name;
        FullName = "/" + serviceName + "/" + name;
        RequestMarshaller = requestMarshaller;
        ResponseMarshaller = responseMarshaller;
    }

    /// <summary>The call shape.</summary>
    public MethodType Type { get; }

    /// <summary>Fully qualified service name, e.g. <c>controlplane.v1.Routing</c>.</summary>
    public string ServiceName { get; }

    /// <summary>Method name, e.g. <c>Route</c>.</summary>
    public string Name { get; }

    /// <summary>The HTTP/2 <c>:path</c>, e.g. <c>/controlplane.v1.Routing/Route</c>.</summary>
    public string FullName { get; }

    /// <summary>Request marshaller.</summary>
    public Marshaller<TRequest> RequestMarshaller { get; }

    /// <summary>Response marshaller.</summary>
    public Marshaller<TResponse> ResponseMarshaller { get; }
}
