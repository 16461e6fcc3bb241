// Each test runs a redis-server and three node processes; on a 2-core machine they must not overlap.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
