using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ControlPlane.Grains.Storage;
using ControlPlane.Grains.Tests.TestGrains;

namespace ControlPlane.Grains.Tests.Storage;

public sealed class JsonGrainStateSerializerTests
{
    [Fact]
    public void Round_trips_with_web_defaults()
    {
        var serializer = new JsonGrainStateSerializer();

        var bytes = serializer.Serialize(new CounterState { Value = 7 });

        Assert.Equal("""{"value":7}""", Encoding.UTF8.GetString(bytes));
        Assert.Equal(7, serializer.Deserialize<CounterState>(bytes).Value);
    }

    [Fact]
    public void Works_with_a_source_generated_context_alone()
    {
        var serializer = new JsonGrainStateSerializer(new JsonSerializerOptions { TypeInfoResolver = TestStateContext.Default });

        Assert.Equal(3, serializer.Deserialize<CounterState>(serializer.Serialize(new CounterState { Value = 3 })).Value);
        Assert.ThrowsAny<NotSupportedException>(() => serializer.Serialize(new Uri("http://not-in-the-context")));
    }

    [Theory]
    [InlineData("null")]
    [InlineData("{ not json")]
    [InlineData("[1,2]")]
    public void Unreadable_bytes_throw(string json)
    {
        var serializer = new JsonGrainStateSerializer();

        Assert.ThrowsAny<JsonException>(() => serializer.Deserialize<CounterState>(Encoding.UTF8.GetBytes(json)));
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CounterState))]
internal sealed partial class TestStateContext : JsonSerializerContext;
