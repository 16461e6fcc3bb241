using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Health;
using ControlPlane.Grpc.Reflection;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Tests.Support;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using V1 = Grpc.Reflection.V1;
using V1Alpha = Grpc.Reflection.V1Alpha;

namespace ControlPlane.Grpc.Tests.Server;

public sealed class ReflectionServiceTests : IAsyncLifetime
{
    private const string V1Path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
    private const string V1AlphaPath = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

    /// <summary>A file importing a well-known type, to prove dependencies are served transitively.</summary>
    private static readonly FileDescriptor LookupFile = BuildLookupFile();

    private GrpcTestServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await GrpcTestServer.StartAsync(services =>
        {
            services.AddGrpcHealth();
            services.AddGrpcReflection();
            services.AddGrpcService(GrpcServiceDefinition.CreateBuilder("test.lookup.Lookup", LookupFile)
                .AddUnary<EchoRequest, EchoResponse>("Find", (r, _) => Task.FromResult(new EchoResponse()))
                .Build());
        });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task V1_lists_every_hosted_service()
    {
        var responses = await CallV1Async(new V1.ServerReflectionRequest { Host = "h", ListServices = "" });

        var response = Assert.Single(responses);
        Assert.Equal("h", response.ValidHost);
        Assert.Equal(
            ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", "test.lookup.Lookup"],
            response.ListServicesResponse.Service.Select(s => s.Name));
    }

    [Fact]
    public async Task V1alpha_lists_every_hosted_service()
    {
        var responses = await CallV1AlphaAsync(new V1Alpha.ServerReflectionRequest { ListServices = "*" });

        Assert.Contains("test.lookup.Lookup", Assert.Single(responses).ListServicesResponse.Service.Select(s => s.Name));
    }

    [Theory]
    [InlineData("grpc.health.v1.Health")]
    [InlineData("grpc.health.v1.Health.Watch")]
    [InlineData("grpc.health.v1.HealthCheckResponse")]
    [InlineData("grpc.health.v1.HealthCheckResponse.ServingStatus")]
    [InlineData("grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING")]
    [InlineData(".grpc.health.v1.HealthCheckRequest")]
    public async Task V1_finds_the_file_containing_a_symbol_including_nested_ones(string symbol)
    {
        var responses = await CallV1Async(new V1.ServerReflectionRequest { FileContainingSymbol = symbol });

        var file = FileDescriptorProto.Parser.ParseFrom(Assert.Single(Assert.Single(responses).FileDescriptorResponse.FileDescriptorProto));
        Assert.Equal("grpc/health/v1/health.proto", file.Name);
    }

    [Fact]
    public async Task V1alpha_finds_the_file_containing_a_symbol()
    {
        var responses = await CallV1AlphaAsync(new V1Alpha.ServerReflectionRequest { FileContainingSymbol = "grpc.health.v1.Health.Check" });

        var file = FileDescriptorProto.Parser.ParseFrom(Assert.Single(Assert.Single(responses).FileDescriptorResponse.FileDescriptorProto));
        Assert.Equal("grpc/health/v1/health.proto", file.Name);
    }

    [Fact]
    public async Task Files_come_with_all_their_transitive_dependencies()
    {
        var responses = await CallV1Async(
            new V1.ServerReflectionRequest { FileByFilename = "test/lookup.proto" },
            new V1.ServerReflectionRequest { FileContainingSymbol = "test.lookup.FindReply.Detail" });

        Assert.Equal(2, responses.Count);
        foreach (var response in responses)
        {
            var names = response.FileDescriptorResponse.FileDescriptorProto.Select(b => FileDescriptorProto.Parser.ParseFrom(b).Name);
            Assert.Equal(["test/lookup.proto", "google/protobuf/timestamp.proto"], names);
        }

        // The descriptors are complete enough for a client to rebuild the types.
        var rebuilt = FileDescriptor.BuildFromByteStrings(responses[0].FileDescriptorResponse.FileDescriptorProto.Reverse());
        Assert.NotNull(rebuilt[^1].FindTypeByName<MessageDescriptor>("FindReply"));
    }

    [Fact]
    public async Task Unknown_symbols_files_and_extensions_get_NOT_FOUND_error_responses_in_the_same_stream()
    {
        var responses = await CallV1Async(
            new V1.ServerReflectionRequest { FileContainingSymbol = "no.such.Symbol" },
            new V1.ServerReflectionRequest { FileByFilename = "missing.proto" },
            new V1.ServerReflectionRequest { FileContainingExtension = new V1.ExtensionRequest { ContainingType = "grpc.health.v1.HealthCheckRequest", ExtensionNumber = 100 } },
            new V1.ServerReflectionRequest { AllExtensionNumbersOfType = "no.such.Type" },
            new V1.ServerReflectionRequest { ListServices = "" });

        Assert.Equal(5, responses.Count);
        Assert.All(responses.Take(4), r => Assert.Equal((int)StatusCode.NotFound, r.ErrorResponse.ErrorCode));
        Assert.Contains("no.such.Symbol", responses[0].ErrorResponse.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(V1.ServerReflectionResponse.MessageResponseOneofCase.ListServicesResponse, responses[4].MessageResponseCase);
        Assert.Equal("no.such.Symbol", responses[0].OriginalRequest.FileContainingSymbol);
    }

    [Fact]
    public async Task Extension_numbers_of_a_known_proto3_type_are_empty()
    {
        var responses = await CallV1Async(new V1.ServerReflectionRequest { AllExtensionNumbersOfType = "grpc.health.v1.HealthCheckRequest" });

        var numbers = Assert.Single(responses).AllExtensionNumbersResponse;
        Assert.Equal("grpc.health.v1.HealthCheckRequest", numbers.BaseTypeName);
        Assert.Empty(numbers.ExtensionNumber);
    }

    private async Task<List<V1.ServerReflectionResponse>> CallV1Async(params V1.ServerReflectionRequest[] requests) =>
        await CallAsync(V1Path, requests, V1.ServerReflectionResponse.Parser);

    private async Task<List<V1Alpha.ServerReflectionResponse>> CallV1AlphaAsync(params V1Alpha.ServerReflectionRequest[] requests) =>
        await CallAsync(V1AlphaPath, requests, V1Alpha.ServerReflectionResponse.Parser);

    private async Task<List<T>> CallAsync<T>(string path, IMessage[] requests, MessageParser<T> parser)
        where T : IMessage<T>
    {
        var body = requests.SelectMany(GrpcWire.Frame).ToArray();
        var response = await _server.Client.CallAsync(path, body);
        Assert.Equal(StatusCode.OK, response.Status);
        return [.. response.Payloads.Select(p => parser.ParseFrom(p))];
    }

    private static FileDescriptor BuildLookupFile()
    {
        var proto = new FileDescriptorProto
        {
            Name = "test/lookup.proto",
            Package = "test.lookup",
            Syntax = "proto3",
            Dependency = { "google/protobuf/timestamp.proto" },
            MessageType =
            {
                new DescriptorProto { Name = "FindRequest", Field = { new FieldDescriptorProto { Name = "key", Number = 1, Type = FieldDescriptorProto.Types.Type.String, Label = FieldDescriptorProto.Types.Label.Optional } } },
                new DescriptorProto
                {
                    Name = "FindReply",
                    Field = { new FieldDescriptorProto { Name = "at", Number = 1, Type = FieldDescriptorProto.Types.Type.Message, TypeName = ".google.protobuf.Timestamp", Label = FieldDescriptorProto.Types.Label.Optional } },
                    NestedType = { new DescriptorProto { Name = "Detail" } },
                },
            },
            Service =
            {
                new ServiceDescriptorProto
                {
                    Name = "Lookup",
                    Method = { new MethodDescriptorProto { Name = "Find", InputType = ".test.lookup.FindRequest", OutputType = ".test.lookup.FindReply" } },
                },
            },
        };
        var files = FileDescriptor.BuildFromByteStrings([TimestampReflection.Descriptor.SerializedData, proto.ToByteString()]);
        return files[^1];
    }
}
