using ControlPlane.Grpc.Server;
using Google.Protobuf;
using V1 = Grpc.Reflection.V1;
using V1Alpha = Grpc.Reflection.V1Alpha;

namespace ControlPlane.Grpc.Reflection;

/// <summary>Server reflection (grpc/doc/server-reflection.md), served as both
/// <c>grpc.reflection.v1.ServerReflection</c> and <c>grpc.reflection.v1alpha.ServerReflection</c>:
/// the two share their messages field for field (same numbers, same types), so v1alpha is served with the v1
/// message types: the bytes on the wire are identical, and only the service name and its descriptor differ.</summary>
internal sealed class ReflectionService(Func<ReflectionIndex> index)
{
    public const string V1ServiceName = "grpc.reflection.v1.ServerReflection";
    public const string V1AlphaServiceName = "grpc.reflection.v1alpha.ServerReflection";
    private const string MethodName = "ServerReflectionInfo";

    public GrpcServiceDefinition CreateV1Definition() =>
        GrpcServiceDefinition.CreateBuilder(V1ServiceName, V1.ReflectionReflection.Descriptor)
            .AddDuplexStreaming<V1.ServerReflectionRequest, V1.ServerReflectionResponse>(MethodName, (requests, responses, context) =>
                ServeAsync(requests, responses, context, r => ToV1(r, Answer(ToQuery(r)))))
            .Build();

    public GrpcServiceDefinition CreateV1AlphaDefinition() =>
        GrpcServiceDefinition.CreateBuilder(V1AlphaServiceName, V1Alpha.ReflectionReflection.Descriptor)
            .AddDuplexStreaming<V1.ServerReflectionRequest, V1.ServerReflectionResponse>(MethodName, (requests, responses, context) =>
                ServeAsync(requests, responses, context, r => ToV1(r, Answer(ToQuery(r)))))
            .Build();

    private static async Task ServeAsync<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requests, IServerStreamWriter<TResponse> responses, ServerCallContext context, Func<TRequest, TResponse> answer)
    {
        while (await requests.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            await responses.WriteAsync(answer(requests.Current), context.CancellationToken).ConfigureAwait(false);
        }
    }

    internal ReflectionAnswer Answer(ReflectionQuery query)
    {
        var idx = index();
        switch (query.Kind)
        {
            case ReflectionQueryKind.ListServices:
                return new ReflectionAnswer { Services = idx.ServiceNames };
            case ReflectionQueryKind.FileByFilename:
                return idx.TryGetFileByName(query.Name, out var file)
                    ? new ReflectionAnswer { Files = idx.FileWithDependencies(file) }
                    : NotFound($"File '{query.Name}' not found.");
            case ReflectionQueryKind.FileContainingSymbol:
                return idx.TryGetFileContainingSymbol(query.Name, out var declaring)
                    ? new ReflectionAnswer { Files = idx.FileWithDependencies(declaring) }
                    : NotFound($"Symbol '{query.Name}' not found.");
            case ReflectionQueryKind.FileContainingExtension:
                return NotFound($"Extension {query.ExtensionNumber} of '{query.Name}' not found.");
            case ReflectionQueryKind.AllExtensionNumbersOfType:
                // proto3 messages declare no extension ranges: a known type has none.
                return idx.IsMessage(query.Name)
                    ? new ReflectionAnswer { ExtensionBaseType = query.Name, ExtensionNumbers = [] }
                    : NotFound($"Type '{query.Name}' not found.");
            default:
                return new ReflectionAnswer { ErrorCode = StatusCode.InvalidArgument, ErrorMessage = "The reflection request names no query." };
        }
    }

    private static ReflectionAnswer NotFound(string message) => new() { ErrorCode = StatusCode.NotFound, ErrorMessage = message };

    private static ReflectionQuery ToQuery(V1.ServerReflectionRequest r) => r.MessageRequestCase switch
    {
        V1.ServerReflectionRequest.MessageRequestOneofCase.ListServices => new(ReflectionQueryKind.ListServices, r.ListServices),
        V1.ServerReflectionRequest.MessageRequestOneofCase.FileByFilename => new(ReflectionQueryKind.FileByFilename, r.FileByFilename),
        V1.ServerReflectionRequest.MessageRequestOneofCase.FileContainingSymbol => new(ReflectionQueryKind.FileContainingSymbol, r.FileContainingSymbol),
        V1.ServerReflectionRequest.MessageRequestOneofCase.FileContainingExtension =>
            new(ReflectionQueryKind.FileContainingExtension, r.FileContainingExtension.ContainingType, r.FileContainingExtension.ExtensionNumber),
        V1.ServerReflectionRequest.MessageRequestOneofCase.AllExtensionNumbersOfType => new(ReflectionQueryKind.AllExtensionNumbersOfType, r.AllExtensionNumbersOfType),
        _ => new(ReflectionQueryKind.None, ""),
    };

    private static V1.ServerReflectionResponse ToV1(V1.ServerReflectionRequest request, ReflectionAnswer answer)
    {
        var response = new V1.ServerReflectionResponse { ValidHost = request.Host, OriginalRequest = request };
        if (answer.ErrorCode is { } code)
        {
            response.ErrorResponse = new V1.ErrorResponse { ErrorCode = (int)code, ErrorMessage = answer.ErrorMessage };
        }
        else if (answer.Services is { } services)
        {
            response.ListServicesResponse = new V1.ListServiceResponse();
            response.ListServicesResponse.Service.AddRange(services.Select(s => new V1.ServiceResponse { Name = s }));
        }
        else if (answer.Files is { } files)
        {
            response.FileDescriptorResponse = new V1.FileDescriptorResponse();
            response.FileDescriptorResponse.FileDescriptorProto.AddRange(files);
        }
        else if (answer.ExtensionNumbers is { } numbers)
        {
            response.AllExtensionNumbersResponse = new V1.ExtensionNumberResponse { BaseTypeName = answer.ExtensionBaseType };
            response.AllExtensionNumbersResponse.ExtensionNumber.AddRange(numbers);
        }

        return response;
    }
}

internal enum ReflectionQueryKind
{
    None,
    ListServices,
    FileByFilename,
    FileContainingSymbol,
    FileContainingExtension,
    AllExtensionNumbersOfType,
}

internal readonly record struct ReflectionQuery(ReflectionQueryKind Kind, string Name, int ExtensionNumber = 0);

/// <summary>One reflection answer, independent of the protocol version it is sent in.</summary>
internal sealed record ReflectionAnswer
{
    public IReadOnlyList<string>? Services { get; init; }
    public IReadOnlyList<ByteString>? Files { get; init; }
    public string ExtensionBaseType { get; init; } = "";
    public IReadOnlyList<int>? ExtensionNumbers { get; init; }
    public StatusCode? ErrorCode { get; init; }
    public string ErrorMessage { get; init; } = "";
}
