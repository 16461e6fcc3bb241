using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace ControlPlane.Grains.Storage;

/// <summary>Turns grain state objects into bytes and back. Throw on bytes that do not deserialize; the runtime
/// reports them as <see cref="GrainStateCorruptException"/>.</summary>
public interface IGrainStateSerializer
{
    /// <summary>Serializes a state object.</summary>
    byte[] Serialize<T>(T value);

    /// <summary>Deserializes a state object.</summary>
    T Deserialize<T>(ReadOnlySpan<byte> data);
}

/// <summary>The default serializer: System.Text.Json. Pass options whose <see cref="JsonSerializerOptions.TypeInfoResolver"/>
/// is a source-generated <c>JsonSerializerContext</c> to avoid reflection (and to be trim-safe).</summary>
public sealed class JsonGrainStateSerializer : IGrainStateSerializer
{
    private readonly JsonSerializerOptions _options;

    /// <summary>Uses <paramref name="options"/>, or web defaults with the reflection resolver when omitted.</summary>
    public JsonGrainStateSerializer(JsonSerializerOptions? options = null)
    {
        _options = options ?? new JsonSerializerOptions(JsonSerializerDefaults.Web) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };
        _options.MakeReadOnly(populateMissingResolver: true);
    }

    /// <inheritdoc />
    public byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, (JsonTypeInfo<T>)_options.GetTypeInfo(typeof(T)));

    /// <inheritdoc />
    public T Deserialize<T>(ReadOnlySpan<byte> data)
    {
        // A JSON "null" for a state object is as unusable as garbage bytes.
        return JsonSerializer.Deserialize(data, (JsonTypeInfo<T>)_options.GetTypeInfo(typeof(T)))
            ?? throw new JsonException($"State is JSON null, expected {typeof(T).Name}.");
    }
}
