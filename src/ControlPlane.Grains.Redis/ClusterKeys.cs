using ControlPlane.Redis;

namespace ControlPlane.Grains.Redis;

/// <summary>The key layout under one prefix. Membership keys are shared; each grain's keys live in one hash field set
/// under a hash tag (<c>{type/key}</c>) so they stay in one slot.</summary>
internal sealed class ClusterKeys
{
    public ClusterKeys(string prefix)
    {
        Prefix = prefix;
        Incarnation = prefix + ":incarnation";
        Members = prefix + ":members";
        View = prefix + ":view";
        LeasePrefix = prefix + ":lease:";
        ViewChannel = prefix + ":view-changed";
    }

    public string Prefix { get; }

    /// <summary>Hash {id, base}: who bootstrapped the data set, and the epoch base of that incarnation.</summary>
    public string Incarnation { get; }

    /// <summary>Hash siloId → "startedMs|address".</summary>
    public string Members { get; }

    /// <summary>Counter: INCR on every join and leave.</summary>
    public string View { get; }

    /// <summary>Per silo: a string key with the lease TTL (PX).</summary>
    public string LeasePrefix { get; }

    /// <summary>Pub/sub channel carrying the new view version.</summary>
    public string ViewChannel { get; }

    public RedisArgument Grain(GrainId grainId) => $"{Prefix}:grain:{{{grainId.Type}/{grainId.Key}}}";

    public string Lease(string siloId) => LeasePrefix + siloId;
}
