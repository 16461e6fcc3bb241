using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using ControlPlane.Grains.Proxies;
using ControlPlane.Grains.Transport;
using Google.Protobuf;
using Google.Protobuf.Collections;

namespace ControlPlane.Grains.Grpc;

/// <summary>Encodes arguments and results as one JSON document each, typed by the method descriptor (the receiver
/// knows the types from the method id, so no type names travel).</summary>
internal sealed class GrainCallCodec
{
    private readonly JsonSerializerOptions _options;

    public GrainCallCodec(JsonSerializerOptions? options, Func<IGrainCallDispatcher> dispatcher)
    {
        _options = options is null
            ? new JsonSerializerOptions(JsonSerializerDefaults.Web) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() }
            : new JsonSerializerOptions(options);
        _options.TypeInfoResolver ??= new DefaultJsonTypeInfoResolver();
        _options.Converters.Add(new GrainReferenceConverterFactory(dispatcher));
        _options.MakeReadOnly(populateMissingResolver: true);
    }

    public void WriteArguments(GrainMethodDescriptor method, object?[] arguments, RepeatedField<ByteString> destination)
    {
        for (var i = 0; i < arguments.Length; i++)
        {
            destination.Add(UnsafeByteOperations.UnsafeWrap(JsonSerializer.SerializeToUtf8Bytes(arguments[i], method.ParameterTypes[i], _options)));
        }
    }

    public object?[] ReadArguments(GrainMethodDescriptor method, RepeatedField<ByteString> arguments)
    {
        if (arguments.Count != method.ParameterTypes.Length)
        {
            throw new GrainException($"Call to {method.Name} carried {arguments.Count} arguments; the method takes {method.ParameterTypes.Length}.");
        }

        var values = new object?[arguments.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = JsonSerializer.Deserialize(arguments[i].Span, method.ParameterTypes[i], _options);
        }

        return values;
    }

    public ByteString WriteResult(GrainMethodDescriptor method, object? result) =>
        method.ResultType is null ? ByteString.Empty : UnsafeByteOperations.UnsafeWrap(JsonSerializer.SerializeToUtf8Bytes(result, method.ResultType, _options));

    public object? ReadResult(GrainMethodDescriptor method, ByteString result) =>
        method.ResultType is null ? null : JsonSerializer.Deserialize(result.Span, method.ResultType, _options);

    /// <summary>Grain and observer references travel as their id and come back as references of this silo.</summary>
    private sealed class GrainReferenceConverterFactory(Func<IGrainCallDispatcher> dispatcher) : JsonConverterFactory
    {
        public override bool CanConvert(Type typeToConvert) =>
            typeToConvert.IsInterface && (typeof(IGrain).IsAssignableFrom(typeToConvert) || typeof(IGrainObserver).IsAssignableFrom(typeToConvert));

        public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
            (JsonConverter)Activator.CreateInstance(typeof(GrainReferenceConverter<>).MakeGenericType(typeToConvert), dispatcher)!;
    }

    private sealed class GrainReferenceConverter<T>(Func<IGrainCallDispatcher> dispatcher) : JsonConverter<T>
        where T : class
    {
        public override T? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                return null;
            }

            string? type = null;
            string? key = null;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException($"Expected a grain reference object for {typeToConvert.Name}.");
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var name = reader.GetString();
                reader.Read();
                if (name == "type")
                {
                    type = reader.GetString();
                }
                else if (name == "key")
                {
                    key = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }

            if (type is null || key is null)
            {
                throw new JsonException($"A grain reference for {typeToConvert.Name} needs 'type' and 'key'.");
            }

            return (T)dispatcher().GetReference(new GrainId(type, key), typeToConvert);
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
        {
            if (value is not IGrainReference reference)
            {
                throw new JsonException($"Only grain references cross silos; pass the reference from IGrainFactory " +
                    $"(GetGrain or CreateObserverReference), not a {value.GetType().Name} object.");
            }

            writer.WriteStartObject();
            writer.WriteString("type", reference.GrainId.Type);
            writer.WriteString("key", reference.GrainId.Key);
            writer.WriteEndObject();
        }
    }
}
