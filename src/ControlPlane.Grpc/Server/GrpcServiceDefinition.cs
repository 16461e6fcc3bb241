using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ControlPlane.Grpc.Server;

/// <summary>A gRPC service: its fully qualified name, its methods bound to handlers and, for
/// server reflection, the protobuf files that describe it.</summary>
/// <example>
/// <code>
/// var definition = GrpcServiceDefinition.CreateBuilder("pkg.Greeter", GreeterReflection.Descriptor)
///     .AddUnary(SayHello, (request, context) => Task.FromResult(new HelloReply { Message = request.Name }))
///     .Build();
/// </code>
/// </example>
public sealed class GrpcServiceDefinition
{
    private GrpcServiceDefinition(string serviceName, IReadOnlyList<ServerMethodHandler> methods, IReadOnlyList<FileDescriptor> files)
    {
        ServiceName = serviceName;
        Methods = methods;
        FileDescriptors = files;
    }

    /// <summary>Fully qualified service name, e.g. <c>grpc.health.v1.Health</c>.</summary>
    public string ServiceName { get; }

    /// <summary>Protobuf files describing the service (served by reflection with their dependencies).</summary>
    public IReadOnlyList<FileDescriptor> FileDescriptors { get; }

    /// <summary>Paths of the bound methods, e.g. <c>/grpc.health.v1.Health/Check</c>.</summary>
    public IEnumerable<string> MethodPaths => Methods.Select(m => m.Path);

    internal IReadOnlyList<ServerMethodHandler> Methods { get; }

    /// <summary>Starts a definition for <paramref name="serviceName"/>.</summary>
    /// <param name="serviceName">Fully qualified service name (<c>package.Service</c>).</param>
    /// <param name="fileDescriptors">Protobuf files describing the service, for reflection.</param>
    public static Builder CreateBuilder(string serviceName, params FileDescriptor[] fileDescriptors)
    {
        ArgumentException.ThrowIfNullOrEmpty(serviceName);
        ArgumentNullException.ThrowIfNull(fileDescriptors);
        return new Builder(serviceName, fileDescriptors);
    }

    /// <summary>Builds a <see cref="GrpcServiceDefinition"/>.</summary>
    public sealed class Builder
    {
        private readonly string _serviceName;
        private readonly List<ServerMethodHandler> _methods = [];
        private readonly List<FileDescriptor> _files;

        internal Builder(string serviceName, FileDescriptor[] files)
        {
            _serviceName = serviceName;
            _files = [.. files];
        }

        /// <summary>Adds a protobuf file describing the service (for reflection).</summary>
        public Builder AddFileDescriptor(FileDescriptor file)
        {
            ArgumentNullException.ThrowIfNull(file);
            _files.Add(file);
            return this;
        }

        /// <summary>Binds a unary method.</summary>
        public Builder AddUnary<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse> handler)
            where TRequest : class
            where TResponse : class
            => Add(method, MethodType.Unary, handler, static (m, h) => new UnaryMethodHandler<TRequest, TResponse>(m, h));

        /// <summary>Binds a server-streaming method.</summary>
        public Builder AddServerStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse> handler)
            where TRequest : class
            where TResponse : class
            => Add(method, MethodType.ServerStreaming, handler, static (m, h) => new ServerStreamingMethodHandler<TRequest, TResponse>(m, h));

        /// <summary>Binds a client-streaming method.</summary>
        public Builder AddClientStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse> handler)
            where TRequest : class
            where TResponse : class
            => Add(method, MethodType.ClientStreaming, handler, static (m, h) => new ClientStreamingMethodHandler<TRequest, TResponse>(m, h));

        /// <summary>Binds a bidirectional-streaming method.</summary>
        public Builder AddDuplexStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse> handler)
            where TRequest : class
            where TResponse : class
            => Add(method, MethodType.DuplexStreaming, handler, static (m, h) => new DuplexStreamingMethodHandler<TRequest, TResponse>(m, h));

        /// <summary>Binds a unary method named <paramref name="name"/> with protobuf marshallers.</summary>
        public Builder AddUnary<TRequest, TResponse>(string name, UnaryServerMethod<TRequest, TResponse> handler)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new()
            => AddUnary(ProtobufMethod<TRequest, TResponse>(MethodType.Unary, name), handler);

        /// <summary>Binds a server-streaming method named <paramref name="name"/> with protobuf marshallers.</summary>
        public Builder AddServerStreaming<TRequest, TResponse>(string name, ServerStreamingServerMethod<TRequest, TResponse> handler)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new()
            => AddServerStreaming(ProtobufMethod<TRequest, TResponse>(MethodType.ServerStreaming, name), handler);

        /// <summary>Binds a client-streaming method named <paramref name="name"/> with protobuf marshallers.</summary>
        public Builder AddClientStreaming<TRequest, TResponse>(string name, ClientStreamingServerMethod<TRequest, TResponse> handler)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new()
            => AddClientStreaming(ProtobufMethod<TRequest, TResponse>(MethodType.ClientStreaming, name), handler);

        /// <summary>Binds a bidirectional-streaming method named <paramref name="name"/> with protobuf marshallers.</summary>
        public Builder AddDuplexStreaming<TRequest, TResponse>(string name, DuplexStreamingServerMethod<TRequest, TResponse> handler)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new()
            => AddDuplexStreaming(ProtobufMethod<TRequest, TResponse>(MethodType.DuplexStreaming, name), handler);

        /// <summary>Creates the definition.</summary>
        public GrpcServiceDefinition Build() => new(_serviceName, [.. _methods], [.. _files.Distinct()]);

        private Method<TRequest, TResponse> ProtobufMethod<TRequest, TResponse>(MethodType type, string name)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new()
            => new(type, _serviceName, name, Marshallers.Protobuf<TRequest>(), Marshallers.Protobuf<TResponse>());

        private Builder Add<TRequest, TResponse, THandler>(
            Method<TRequest, TResponse> method, MethodType expected, THandler handler,
            Func<Method<TRequest, TResponse>, THandler, ServerMethodHandler> create)
            where THandler : Delegate
        {
            ArgumentNullException.ThrowIfNull(method);
            ArgumentNullException.ThrowIfNull(handler);
            if (method.Type != expected)
            {
                throw new ArgumentException($"Method {method.FullName} is {method.Type}, not {expected}.", nameof(method));
            }

            if (!string.Equals(method.ServiceName, _serviceName, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Method {method.FullName} belongs to service '{method.ServiceName}', not '{_serviceName}'.", nameof(method));
            }

            if (_methods.Exists(m => m.Path == method.FullName))
            {
                throw new ArgumentException($"Method {method.FullName} is already bound.", nameof(method));
            }

            _methods.Add(create(method, handler));
            return this;
        }
    }
}
