using ControlPlane.Grains.Storage;

namespace ControlPlane.Grains.Tests.Storage;

/// <summary>The storage contract against the in-memory provider.</summary>
public sealed class MemoryGrainStorageTests : GrainStorageContractTests
{
    protected override Task<IGrainStorage> CreateStorageAsync() => Task.FromResult<IGrainStorage>(new MemoryGrainStorage());
}
