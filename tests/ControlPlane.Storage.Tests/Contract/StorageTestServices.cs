using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace ControlPlane.Storage.Tests.Contract;

/// <summary>The Orleans services a storage provider takes from the silo, built without a silo: the serializer the
/// silo is configured with (<c>UseSystemTextJsonGrainStorageSerializer</c>) and Orleans' activator provider.</summary>
internal static class StorageTestServices
{
    private static readonly Lazy<IServiceProvider> Services = new(() => new ServiceCollection().AddSerializer().BuildServiceProvider());

    public static IGrainStorageSerializer Serializer { get; } =
        new SystemTextJsonGrainStorageSerializer(Options.Create(new SystemTextJsonGrainStorageSerializerOptions()));

    public static IActivatorProvider Activators => Services.Value.GetRequiredService<IActivatorProvider>();
}

/// <summary>The state the contract stores: a few fields and a list, so partial round-trips show.</summary>
public sealed class ContractState
{
    public string Text { get; set; } = "";

    public int Number { get; set; }

    public List<string> Items { get; set; } = [];
}
