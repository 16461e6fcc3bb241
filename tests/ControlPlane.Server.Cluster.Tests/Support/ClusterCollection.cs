using ControlPlane.Testing.Redis;

namespace ControlPlane.Server.Cluster.Tests.Support;

/// <summary>The end-to-end cluster tests share one real redis-server and run one at a time (each starts several
/// nodes; the machine is small). Each test isolates its cluster by a unique cluster id.</summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "cluster end-to-end";
}
