using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ControlPlane.Testing.Redis;
using Xunit.Abstractions;
using static ControlPlane.Server.Cluster.Tests.Faults.FaultCluster;

namespace ControlPlane.Server.Cluster.Tests.Faults;

/// <summary>Runs these alone (after the parallel collections): they start real processes and measure failover.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessFaultCollection
{
    public const string Name = "process faults";
}

/// <summary>Process-level faults against three real <c>controlplane</c> nodes on one real redis-server: kill -9,
/// SIGSTOP/SIGCONT, SIGTERM, Redis restarted with AOF and empty, and a rolling restart. Each test starts its own Redis
/// and nodes and kills them at the end; time bounds only catch hangs, measured figures go to the test output.</summary>
[Collection(ProcessFaultCollection.Name)]
public sealed class ProcessFaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Kill_9_of_the_silo_hosting_an_endpoint_a_survivor_answers_again_with_the_override_intact()
    {
        await using var cluster = await FaultCluster.StartAsync(output);
        await cluster.SetBreakerUntilAcknowledgedAsync(cluster.Nodes[0], Target, "open", "kill -9 drill");
        var before = await cluster.GetEndpointAsync(cluster.Nodes[0], Target);
        var victim = cluster.HostOf(before) ?? throw new InvalidOperationException($"no node hosts {Target}: {before}");
        var survivor = cluster.Nodes.First(n => n != victim);
        cluster.Print($"{Target} is hosted on {victim.Name}; kill -9 {victim.Name}, asking {survivor.Name}");

        await victim.KillAsync();
        JsonElement? after = null;
        var took = await cluster.WaitUntilAsync($"{survivor.Name} answers {Target} after kill -9 of {victim.Name}", Hang,
            async () => (after = await cluster.TryGetEndpointAsync(survivor, Target, TimeSpan.FromSeconds(2))) is not null);

        cluster.Print($"MEASURED kill -9: first successful admin GET on a survivor after {took.TotalMilliseconds:F0} ms; host now {after!.Value.GetProperty("host").GetString()}");
        Assert.True(IsForcedOpen(after.Value), $"the override set before the kill is gone: {after}");
        Assert.False(victim.Hosts(after.Value.GetProperty("host").GetString()));
    }

    [Fact]
    public async Task SIGSTOP_of_a_silo_it_is_declared_dead_while_healthy_grains_keep_answering_then_SIGCONT_it_rejoins()
    {
        await using var cluster = await FaultCluster.StartAsync(output);
        await cluster.SetBreakerUntilAcknowledgedAsync(cluster.Nodes[0], Target, "open", "SIGSTOP drill");
        var hung = cluster.HostOf(await cluster.GetEndpointAsync(cluster.Nodes[0], Target))!;
        var healthy = cluster.Nodes.Where(n => n != hung).ToList();
        // For each healthy node, an endpoint grain it hosts: calls to it through that node must not wait on the hung silo.
        // Grains first activated on the founder move to their home silo when idle, so wait until the healthy nodes host some.
        var probes = new List<(NodeProcess Node, string Endpoint)>();
        await cluster.WaitUntilAsync("a healthy node hosts an endpoint grain", Hang, async () =>
        {
            var fleet = await WaitForFleetAsync(cluster, healthy[0]);
            probes.Clear();
            foreach (var node in healthy)
            {
                if (Hosts(fleet).FirstOrDefault(h => node.Hosts(h.Value)).Key is { } id)
                {
                    probes.Add((node, id));
                }
            }

            return probes.Count > 0;
        });

        cluster.Print($"{Target} on {hung.Name}; SIGSTOP {hung.Name}; probes: {string.Join(", ", probes.Select(p => $"{p.Endpoint} via {p.Node.Name}"))}");
        Assert.NotEmpty(probes);

        hung.Signal(NodeProcess.SigStop);
        var stoppedAt = cluster.Elapsed;
        using var detected = new CancellationTokenSource();
        var latencies = new List<(string Probe, double Ms, bool Ok)>();
        var probing = Task.Run(async () =>
        {
            while (!detected.IsCancellationRequested)
            {
                foreach (var (node, id) in probes)
                {
                    var clock = Stopwatch.StartNew();
                    var ok = await cluster.TryGetEndpointAsync(node, id, TimeSpan.FromSeconds(40)) is not null;
                    lock (latencies)
                    {
                        latencies.Add(($"{id} via {node.Name}", clock.Elapsed.TotalMilliseconds, ok));
                    }
                }

                await Task.Delay(200);
            }
        });

        // Declared dead: a survivor's fleet view answers (every grain reachable) with nothing left on the hung silo.
        var moved = new Dictionary<string, TimeSpan>();
        foreach (var node in healthy)
        {
            await cluster.WaitUntilAsync($"{node.Name} answers the fleet view without {hung.Name}", Hang, async () =>
                await cluster.TryGetFleetAsync(node, TimeSpan.FromSeconds(6)) is { } view && !Hosts(view).Values.Any(hung.Hosts));
            moved[node.Name] = cluster.Elapsed - stoppedAt;
        }

        await detected.CancelAsync();
        await probing;
        var target = await cluster.GetEndpointAsync(healthy[0], Target);
        cluster.Print($"MEASURED SIGSTOP: fleet view answered with every grain off {hung.Name} after " +
            string.Join(", ", moved.Select(m => $"{m.Key} {m.Value.TotalSeconds:F1} s")) + $"; {Target} now on {cluster.HostOf(target)?.Name}");
        var worst = latencies.MaxBy(l => l.Ms);
        cluster.Print($"MEASURED SIGSTOP: {latencies.Count} admin GETs of grains on healthy nodes meanwhile, {latencies.Count(l => !l.Ok)} failed, " +
            $"max {worst.Ms:F0} ms ({worst.Probe}), median {Median(latencies.Select(l => l.Ms)):F0} ms");
        Assert.True(IsForcedOpen(target), $"override lost: {target}");
        Assert.All(latencies, l => Assert.True(l.Ok, $"{l.Probe} failed after {l.Ms:F0} ms"));
        // The grain-call timeout is 5 s; Orleans' default 30 s would show up here.
        Assert.True(worst.Ms < 15_000, $"a call to a grain on a healthy node took {worst.Ms:F0} ms while {hung.Name} hung");

        // SIGCONT: the old process reads that it was declared dead. Orleans' default would end the process (fail-fast);
        // the node instead stops the dead silo and joins again as a new one (DeclaredDeadHandler), and routes again.
        hung.Signal(NodeProcess.SigCont);
        await cluster.WaitUntilAsync($"{hung.Name} learns it was declared dead", Hang,
            () => Task.FromResult(hung.HasExited || hung.Logged("declared this silo dead")));
        Assert.False(hung.HasExited, $"{hung.Name} exited when told it was declared dead.\n{cluster.Logs()}");
        Assert.True(await hung.WaitForClusterLinesAsync(2, TimeSpan.FromSeconds(120)), $"{hung.Name} did not rejoin.\n{cluster.Logs()}");
        cluster.Print($"OBSERVED SIGCONT: {hung.Name} rejoined {(cluster.Elapsed - stoppedAt).TotalSeconds:F1} s after SIGSTOP: " +
            string.Join(" | ", hung.Lines("declared this silo dead").Take(1)));
        await cluster.WaitUntilAsync($"{hung.Name} routes again", Hang, async () =>
        {
            try
            {
                return (await cluster.RouteAsync(hung)).EndpointId.Length > 0;
            }
            catch (Grpc.Core.RpcException)
            {
                return false;
            }
        });

        // The survivors and the new silo agree on where the grain is and still hold the override.
        await WaitForAgreementAsync(cluster, cluster.Nodes);
        Assert.True(IsForcedOpen(await cluster.GetEndpointAsync(hung, Target)));
        Assert.False(hung.HasExited);
    }

    [Fact]
    public async Task SIGTERM_of_a_node_exits_0_returns_its_leases_and_its_grains_move_to_survivors()
    {
        await using var cluster = await FaultCluster.StartAsync(output);
        var victim = cluster.HostOf(await cluster.GetEndpointAsync(cluster.Nodes[0], Target))!;
        var survivor = cluster.Nodes.First(n => n != victim);

        // Route through the victim until it holds a quota lease on one of the class's primaries.
        string? leased = null;
        await cluster.WaitUntilAsync($"{victim.Name} holds a lease", Hang, async () =>
        {
            await cluster.RouteAsync(victim);
            foreach (var id in new[] { Target, OtherPrimary })
            {
                if (await cluster.TryGetEndpointAsync(survivor, id) is { } view && LeaseHolders(view).Contains(victim.Name))
                {
                    leased = id;
                    return true;
                }
            }

            return false;
        });
        cluster.Print($"{victim.Name} hosts {Target} and holds a lease on {leased}; SIGTERM {victim.Name}");

        var clock = Stopwatch.StartNew();
        victim.Signal(NodeProcess.SigTerm);
        var exit = await victim.WaitForExitAsync(Hang);
        cluster.Print($"MEASURED SIGTERM: {victim.Name} exited with {exit?.ToString() ?? "(still running)"} after {clock.ElapsedMilliseconds} ms");
        Assert.Equal(0, exit);

        // The first answer, well inside the lease's own expiry, must not list the victim: it returned the lease.
        var after = await cluster.GetEndpointAsync(survivor, leased!);
        var moved = await cluster.GetEndpointAsync(survivor, Target);
        cluster.Print($"after: {leased} leases held by [{string.Join(", ", LeaseHolders(after))}]; {Target} on {cluster.HostOf(moved)?.Name} " +
            $"({clock.ElapsedMilliseconds} ms after SIGTERM)");
        Assert.DoesNotContain(victim.Name, LeaseHolders(after));
        Assert.False(victim.Hosts(moved.GetProperty("host").GetString()));
        var fleet = await WaitForFleetAsync(cluster, survivor);
        Assert.DoesNotContain(Hosts(fleet).Values, victim.Hosts);
        Assert.True(victim.Logged("Cluster node"), "the node never started");
    }

    [Fact]
    public async Task Redis_restarted_with_AOF_keeps_overrides_and_routing_answers_from_the_snapshot_during_the_outage()
    {
        await using var cluster = await FaultCluster.StartAsync(output, redisOptions: new RedisServerOptions { AppendOnly = true, AppendFsync = "always" });
        await cluster.SetBreakerUntilAcknowledgedAsync(cluster.Nodes[1], Target, "open", "AOF drill");
        await WaitForObedienceAsync(cluster, cluster.Nodes, [Target]);

        TimeSpan down, up;
        await using (var load = cluster.StartLoad(cluster.Nodes, TimeSpan.FromMilliseconds(50)))
        {
            await Task.Delay(1000);
            down = cluster.Elapsed;
            await cluster.Redis.StopAsync();
            await Task.Delay(TimeSpan.FromSeconds(8));
            await cluster.Redis.StartAsync();
            up = cluster.Elapsed;
            await Task.Delay(TimeSpan.FromSeconds(3));
            await load.DisposeAsync();

            var during = load.Calls.Where(c => c.Start >= down && c.End <= up).ToList();
            var failures = load.Calls.Where(c => c.Error is not null).ToList();
            cluster.Print($"MEASURED Redis down {(up - down).TotalSeconds:F1} s (kill -9, AOF restart): {during.Count} Route calls during the outage, " +
                $"{during.Count(c => c.Error is not null)} failed; {load.Calls.Count} calls in all, {failures.Count} failed; " +
                $"max latency {load.Calls.Max(c => (c.End - c.Start).TotalMilliseconds):F0} ms");
            foreach (var failure in failures.Take(5))
            {
                cluster.Print($"  failed on {failure.Node.Name} at {failure.Start.TotalSeconds:F1} s: {failure.Error}");
            }

            // A storage outage must not become a routing outage: answers without an endpoint during it and in the 3 s
            // after (the load stays far below every limit, so the limits themselves refuse nothing).
            var after = load.Calls.Where(c => c.Start >= up).ToList();
            var emptyDuring = during.Count(c => c.Error is null && string.IsNullOrEmpty(c.EndpointId));
            var emptyAfter = after.Count(c => c.Error is null && string.IsNullOrEmpty(c.EndpointId));
            cluster.Print($"MEASURED answers without an endpoint: {emptyDuring} of {during.Count} during the outage, {emptyAfter} of {after.Count} in the 3 s after");

            Assert.NotEmpty(during);
            Assert.Empty(failures);
            Assert.DoesNotContain(load.Calls, c => c.EndpointId == Target);
            Assert.Equal(0, emptyDuring);
            Assert.Equal(0, emptyAfter);
        }

        foreach (var node in cluster.Nodes)
        {
            var view = await cluster.GetEndpointAsync(node, Target);
            Assert.True(IsForcedOpen(view), $"{node.Name}: override lost after the AOF restart: {view}");
            Assert.False(node.Logged("incarnation lost"), $"{node.Name} took the AOF restart for a lost incarnation");
        }
    }

    [Fact]
    public async Task Redis_restarted_empty_under_load_nodes_rejoin_agree_on_hosts_and_keep_an_override_acknowledged_after_the_restart()
    {
        await using var cluster = await FaultCluster.StartAsync(output);
        var versionBefore = Version(await cluster.GetEndpointAsync(cluster.Nodes[0], Target));
        await using var load = cluster.StartLoad(cluster.Nodes, TimeSpan.FromMilliseconds(100));
        await Task.Delay(1000);

        var restartedAt = cluster.Elapsed;
        await cluster.Redis.RestartAsync(keepData: false);
        cluster.Print("Redis restarted empty");
        // Acknowledged after the restart, possibly by an activation of the old incarnation that has not noticed yet.
        var acked = new List<string>();
        foreach (var id in new[] { Target, OtherPrimary })
        {
            // Once a node sees the loss it stops its old silo (about 2 minutes, see the report) and answers 503 meanwhile.
            await cluster.WaitUntilAsync($"n2 acknowledges breaker open on {id}", TimeSpan.FromSeconds(200),
                async () => await cluster.SetBreakerAsync(cluster.Nodes[1], id, "open", "empty-restart drill") == HttpStatusCode.OK);
            acked.Add($"{id} at +{(cluster.Elapsed - restartedAt).TotalSeconds:F1} s");
        }

        cluster.Print($"overrides acknowledged (200) after the restart: {string.Join(", ", acked)}");
        foreach (var node in cluster.Nodes)
        {
            Assert.True(await node.WaitForClusterLinesAsync(2, TimeSpan.FromSeconds(200)), $"{node.Name} did not rejoin.\n{cluster.Logs()}");
            cluster.Print($"MEASURED {node.Name} rejoined by +{(cluster.Elapsed - restartedAt).TotalSeconds:F1} s; " +
                string.Join(" | ", node.Lines("incarnation lost").Take(1)));
        }

        var settled = await WaitForAgreementAsync(cluster, cluster.Nodes);
        cluster.Print($"MEASURED all nodes agree on every endpoint's host +{(cluster.Elapsed - restartedAt).TotalSeconds:F1} s after the restart ({settled.TotalSeconds:F1} s of waiting)");
        var obeyed = await WaitForObedienceAsync(cluster, cluster.Nodes, [Target, OtherPrimary]);
        cluster.Print($"MEASURED every node's Route obeys the post-restart override: {obeyed}");

        foreach (var node in cluster.Nodes)
        {
            var view = await cluster.GetEndpointAsync(node, Target);
            Assert.True(IsForcedOpen(view), $"{node.Name}: the override acknowledged after the restart is lost: {view}");
            Assert.True(Version(view) > versionBefore, $"{node.Name}: version went back from {versionBefore} to {Version(view)}");
        }

        await load.DisposeAsync();
        var failures = load.Calls.Where(c => c.Error is not null).ToList();
        cluster.Print($"Route under load: {load.Calls.Count} calls, {failures.Count} failed" +
            (failures.Count == 0 ? "" : $" between +{(failures.Min(c => c.Start) - restartedAt).TotalSeconds:F1} s and +{(failures.Max(c => c.End) - restartedAt).TotalSeconds:F1} s") +
            $"; per node: {string.Join(", ", cluster.Nodes.Select(n => $"{n.Name} {failures.Count(c => c.Node == n)}"))}");
        foreach (var reason in failures.GroupBy(f => f.Error).Take(5))
        {
            cluster.Print($"  {reason.Count()} x {reason.Key}");
        }
    }

    [Fact]
    public async Task A_rejoin_that_fails_because_redis_refuses_writes_is_retried_until_the_node_is_back()
    {
        await using var cluster = await FaultCluster.StartAsync(output);
        // One node's own rejoin loop: the other two leave first (SIGTERM). With three nodes coming back one by one after
        // a long write outage, the first ones back can vote a slow joiner dead and Orleans ends that process by
        // fail-fast (docs/cluster-incarnation.md): a matter of cluster re-formation, not of this loop.
        var node = cluster.Nodes[0];
        foreach (var other in cluster.Nodes.Skip(1))
        {
            other.Signal(NodeProcess.SigTerm);
            Assert.Equal(0, await other.WaitForExitAsync(Hang));
        }

        // Redis refuses every write (out of memory, no eviction) and loses the incarnation: the node sees the loss and
        // its rejoin cannot start a silo. The process must keep trying, not exit.
        await cluster.Redis.CliAsync("CONFIG", "SET", "maxmemory", "1");
        await cluster.Redis.CliAsync("FLUSHALL");
        cluster.Print("Redis emptied and refusing writes");
        await cluster.WaitUntilAsync($"{node.Name} reports a failed rejoin", TimeSpan.FromSeconds(120),
            () => Task.FromResult(node.Logged("rejoin attempt 2 failed")));
        Assert.False(node.HasExited, $"{node.Name} exited after a failed rejoin.\n{cluster.Logs()}");

        await cluster.Redis.CliAsync("CONFIG", "SET", "maxmemory", "0");
        cluster.Print("Redis accepts writes again");
        Assert.True(await node.WaitForClusterLinesAsync(2, TimeSpan.FromSeconds(120)), $"{node.Name} did not rejoin.\n{cluster.Logs()}");
        cluster.Print($"MEASURED {node.Name} rejoined after: {string.Join(" | ", node.Lines("rejoin attempt").TakeLast(1))}");
        await cluster.WaitUntilAsync($"{node.Name} routes again", Hang, async () =>
        {
            try
            {
                return (await cluster.RouteAsync(node)).EndpointId.Length > 0;
            }
            catch (Grpc.Core.RpcException)
            {
                return false;
            }
        });
    }

    [Fact]
    public async Task Rolling_restart_of_all_three_nodes_never_fails_Route_on_the_others_and_keeps_overrides()
    {
        await using var cluster = await FaultCluster.StartAsync(output);
        await cluster.SetBreakerUntilAcknowledgedAsync(cluster.Nodes[0], Target, "open", "rolling restart drill");
        var windows = new List<(NodeProcess Node, TimeSpan From, TimeSpan To)>();
        await using (var load = cluster.StartLoad(cluster.Nodes, TimeSpan.FromMilliseconds(100)))
        {
            foreach (var node in cluster.Nodes)
            {
                var from = cluster.Elapsed;
                node.Signal(NodeProcess.SigTerm);
                var exit = await node.WaitForExitAsync(Hang);
                Assert.Equal(0, exit);
                var stopped = cluster.Elapsed;
                await node.StartAsync(Hang);
                await WaitForFleetAsync(cluster, node);
                await cluster.WaitUntilAsync($"{node.Name} routes again", Hang, async () =>
                {
                    try
                    {
                        await cluster.RouteAsync(node);
                        return true;
                    }
                    catch (Grpc.Core.RpcException)
                    {
                        return false;
                    }
                });
                var to = cluster.Elapsed;
                windows.Add((node, from, to));
                cluster.Print($"MEASURED {node.Name}: SIGTERM to exit 0 in {(stopped - from).TotalSeconds:F1} s, back and answering in {(to - stopped).TotalSeconds:F1} s");
            }

            await Task.Delay(1000);
            await load.DisposeAsync();
            bool Restarting(FaultCluster.RouteCall c) => windows.Any(w => w.Node == c.Node && c.End >= w.From && c.Start <= w.To);
            var others = load.Calls.Where(c => !Restarting(c)).ToList();
            var failed = others.Where(c => c.Error is not null).ToList();
            cluster.Print($"Route on nodes not being restarted: {others.Count} calls, {failed.Count} failed, max latency " +
                $"{others.Max(c => (c.End - c.Start).TotalMilliseconds):F0} ms; on the restarting node: {load.Calls.Count - others.Count} calls, " +
                $"{load.Calls.Count(c => Restarting(c) && c.Error is not null)} failed");
            foreach (var failure in failed.Take(5))
            {
                cluster.Print($"  failed on {failure.Node.Name} at {failure.Start.TotalSeconds:F1} s: {failure.Error}");
            }

            Assert.Empty(failed);
        }

        foreach (var node in cluster.Nodes)
        {
            Assert.True(IsForcedOpen(await cluster.GetEndpointAsync(node, Target)), $"{node.Name}: override lost after the rolling restart");
        }

        await WaitForAgreementAsync(cluster, cluster.Nodes);
    }

    private static async Task<JsonElement> WaitForFleetAsync(FaultCluster cluster, NodeProcess node)
    {
        JsonElement? fleet = null;
        await cluster.WaitUntilAsync($"{node.Name} answers the fleet view", Hang, async () => (fleet = await cluster.TryGetFleetAsync(node)) is not null);
        return fleet!.Value;
    }

    /// <summary>Waits until every node's fleet view answers and they all name the same host for every endpoint.</summary>
    private static Task<TimeSpan> WaitForAgreementAsync(FaultCluster cluster, IReadOnlyList<NodeProcess> nodes) =>
        cluster.WaitUntilAsync("the nodes agree on every endpoint's host", TimeSpan.FromSeconds(90), async () =>
        {
            var views = await Task.WhenAll(nodes.Select(n => cluster.TryGetFleetAsync(n)));
            if (views.Any(v => v is null))
            {
                return false;
            }

            var first = Hosts(views[0]!.Value);
            return views.Skip(1).All(v => Hosts(v!.Value).All(h => first[h.Key] == h.Value));
        });

    /// <summary>Polls Route on every node until none picks a forced-open endpoint; the time per node.</summary>
    private static async Task<string> WaitForObedienceAsync(FaultCluster cluster, IReadOnlyList<NodeProcess> nodes, string[] forcedOpen)
    {
        var clock = Stopwatch.StartNew();
        var times = new List<string>();
        foreach (var node in nodes)
        {
            await cluster.WaitUntilAsync($"{node.Name} routes around {string.Join(", ", forcedOpen)}", Hang, async () =>
            {
                try
                {
                    // Three in a row, so an answer that happened to pick another primary does not count.
                    for (var i = 0; i < 3; i++)
                    {
                        var chosen = (await cluster.RouteAsync(node)).EndpointId;
                        if (Array.IndexOf(forcedOpen, chosen) >= 0)
                        {
                            return false;
                        }
                    }

                    return true;
                }
                catch (Grpc.Core.RpcException)
                {
                    return false;
                }
            });
            times.Add($"{node.Name} {clock.Elapsed.TotalMilliseconds:F0} ms");
        }

        return string.Join(", ", times);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[sorted.Count / 2];
    }
}
