using System.Runtime.InteropServices;
using ControlPlane.Fleet;
using ControlPlane.Server.Cluster;

namespace ControlPlane.Server;

internal static class Program
{
    private static readonly TimeSpan StopBudget = TimeSpan.FromSeconds(30);

    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == AdminCli.AdminCliApp.Verb)
        {
            return await AdminCli.AdminCliApp.RunAsync(args[1..], AdminCli.CliContext.FromConsole()).ConfigureAwait(false);
        }

        if (args.Length > 0 && args[0] == ControlPlane.Drills.DrillCommand.Verb)
        {
            return await Drills.DrillApp.RunAsync(args[1..]).ConfigureAwait(false);
        }

        if (!NodeOptions.TryParse(args, out var options, out var error))
        {
            await Console.Error.WriteLineAsync($"controlplane: {error}").ConfigureAwait(false);
            await Console.Error.WriteLineAsync(NodeOptions.Usage).ConfigureAwait(false);
            return 2;
        }

        if (options.DecisionKey is null && Environment.GetEnvironmentVariable(NodeOptions.DecisionKeyVariable) is { Length: > 0 } key)
        {
            if (ControlPlane.Service.DataPlane.DecisionIds.ParseKey(key) is null)
            {
                await Console.Error.WriteLineAsync($"controlplane: Invalid {NodeOptions.DecisionKeyVariable}: expected base64 of 32 to 64 random bytes.").ConfigureAwait(false);
                return 2;
            }

            options = options with { DecisionKey = key };
        }

        if (options.AdminKeyFile is { } adminKeyFile)
        {
            try
            {
                options = options with { AdminKey = (await File.ReadAllTextAsync(adminKeyFile).ConfigureAwait(false)).Trim() };
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"controlplane: Cannot read --admin-key-file: {ex.Message}").ConfigureAwait(false);
                return 2;
            }
        }
        else if (Environment.GetEnvironmentVariable(NodeOptions.AdminKeyVariable) is { Length: > 0 } adminKey)
        {
            options = options with { AdminKey = adminKey.Trim() };
        }

        if (options.AdminKey is not null && !ControlPlane.Service.Security.ApiKeyTokens.TryParse(options.AdminKey, out _, out _))
        {
            // The key itself is never echoed.
            await Console.Error.WriteLineAsync("controlplane: Invalid bootstrap admin key: expected cpk_<12-char id>_<43-char base64url secret>.").ConfigureAwait(false);
            return 2;
        }

        if (!NodeOptions.TryLoadFederationCredential(options, Environment.GetEnvironmentVariable, out options, out var federationError))
        {
            await Console.Error.WriteLineAsync($"controlplane: {federationError}").ConfigureAwait(false);
            return 2;
        }

        if (options.ShowHelp)
        {
            Console.WriteLine(NodeOptions.Usage);
            return 0;
        }

        // The Redis password and, with --kubernetes, the pod's identity (docs/operations.md).
        if (!Deploy.NodeEnvironment.TryApply(options, Environment.GetEnvironmentVariable, out options, out var environmentError))
        {
            await Console.Error.WriteLineAsync($"controlplane: {environmentError}").ConfigureAwait(false);
            return 2;
        }

        FleetDefinition fleet;
        try
        {
            fleet = FleetLocator.Load(options.FleetPath);
        }
        catch (FleetConfigException ex)
        {
            // Nothing is started on a bad fleet: the message lists every file:line:col: field: problem.
            await Console.Error.WriteLineAsync($"controlplane: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        try
        {
            // --region and --federation-peer against the fleet's regions: (docs/regions.md).
            _ = options.ResolveFederation(fleet);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"controlplane: {ex.Message}").ConfigureAwait(false);
            return 2;
        }

        var terminate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // A graceful stop gets a budget; a second signal ends it at once (the stages then finish cancelled). One budget per
        // silo: a spent budget must not end the process after a rejoin.
        CancellationTokenSource? stopBudget = null;
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Terminate);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Terminate);

        // A cluster node whose Redis came back empty (its incarnation is gone) stops its silo and joins the new
        // incarnation as a new silo, in-process: state is rebuilt from the fleet file and what the new Redis holds.
        var rejoining = false;
        var rejoinFailures = 0;
        while (true)
        {
            WebApplication? app = null;
            Exception? failed = null;
            try
            {
                app = NodeHost.Build(options, fleet);
                await app.StartAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (IsStartFailure(ex))
            {
                failed = ex;
            }

            if (failed is not null || app is null)
            {
                if (!rejoining || terminate.Task.IsCompleted)
                {
                    // The first start: nothing was serving, the operator (or the orchestrator) sees the reason.
                    await Console.Error.WriteLineAsync($"controlplane: failed to start: {StartFailureText(failed!, options)}").ConfigureAwait(false);
                    return 1;
                }

                if (app is not null)
                {
                    await DisposeQuietlyAsync(app).ConfigureAwait(false);
                }

                // A rejoin after a lost incarnation: the node served before and its Redis is back, so it keeps trying
                // (with a growing pause) rather than leave the region a node short until someone restarts it.
                var pause = RejoinBackoff(++rejoinFailures);
                await Console.Error.WriteLineAsync(
                    $"controlplane: rejoin attempt {rejoinFailures} failed: {StartFailureText(failed!, options)}; retrying in {pause.TotalSeconds:0.#} s.").ConfigureAwait(false);
                await Task.WhenAny(terminate.Task, Task.Delay(pause)).ConfigureAwait(false);
                continue;
            }

            rejoinFailures = 0;
            bool rejoin;
            await using (app.ConfigureAwait(false))
            {
                PrintStarted(app, fleet);
                var lost = NodeHost.IncarnationLost(app);
                var first = await Task.WhenAny(terminate.Task, lost).ConfigureAwait(false);
                rejoin = first == lost && !terminate.Task.IsCompleted;
                if (rejoin)
                {
                    if (lost.Result.Reason == IncarnationLossReason.DeclaredDead)
                    {
                        // The incarnation and its membership table live on; only this silo's place in them is gone.
                        await Console.Error.WriteLineAsync($"controlplane: the cluster declared this silo dead ({lost.Result.Found}); rejoining as a new silo.").ConfigureAwait(false);
                    }
                    else
                    {
                        await Console.Error.WriteLineAsync($"controlplane: cluster incarnation lost ({lost.Result}); rejoining as a new silo.").ConfigureAwait(false);
                        await NodeHost.PrepareRejoinAsync(app).ConfigureAwait(false);
                    }
                }

                // The routing node flushes and returns leases, the silo leaves (grains deactivate), then the server stops.
                // After a lost incarnation the membership table this silo would leave through is gone: a graceful leave
                // retries writes to it until the budget is spent, so the old silo stops ungracefully at once.
                using var budget = new CancellationTokenSource();
                Volatile.Write(ref stopBudget, budget);
                if (rejoin)
                {
                    await budget.CancelAsync().ConfigureAwait(false);
                }
                else
                {
                    budget.CancelAfter(StopBudget);
                }

                try
                {
                    await NodeHost.StopAsync(app, budget.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (budget.IsCancellationRequested)
                {
                    if (!rejoin)
                    {
                        await Console.Error.WriteLineAsync("controlplane: stop cut short (second signal or stop budget spent).").ConfigureAwait(false);
                    }
                }
                finally
                {
                    Volatile.Write(ref stopBudget, null);
                }
            }

            if (!rejoin || terminate.Task.IsCompleted)
            {
                return 0;
            }

            rejoining = true;
        }

        void Terminate(PosixSignalContext context)
        {
            context.Cancel = true;
            if (!terminate.TrySetResult())
            {
                try
                {
                    Volatile.Read(ref stopBudget)?.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // That stop has just finished.
                }
            }
        }
    }

    private static bool IsStartFailure(Exception ex) =>
        ex is IOException or InvalidOperationException or UnauthorizedAccessException or ArgumentException
            or System.Data.Common.DbException or Microsoft.Extensions.Options.OptionsValidationException
            or StackExchange.Redis.RedisException or OrleansException or TimeoutException;

    private static string StartFailureText(Exception ex, NodeOptions options) => ex is StackExchange.Redis.RedisConnectionException
        // StackExchange.Redis does not say which server it could not reach.
        ? $"Connecting to Redis at {options.RedisEndpoint} failed: {ex.Message}"
        : ex.Message;

    /// <summary>1, 2, 4, 8, then 10 s between rejoin attempts.</summary>
    private static TimeSpan RejoinBackoff(int failures) => TimeSpan.FromSeconds(Math.Min(10, 1 << Math.Min(failures - 1, 4)));

    private static async Task DisposeQuietlyAsync(WebApplication app)
    {
        try
        {
            // Bounded: a host whose silo never joined can take long to give up.
            await app.DisposeAsync().AsTask().WaitAsync(StopBudget).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsStartFailure(ex) || ex is OperationCanceledException or AggregateException)
        {
            // A host that failed to start can fail to stop too; the next attempt builds a new one.
        }
    }

    private static void PrintStarted(WebApplication app, FleetDefinition fleet)
    {
        Console.WriteLine($"Fleet {fleet.Name ?? "(unnamed)"} {fleet.Version} from {fleet.SourceName}: {fleet.Endpoints.Length} endpoints, {fleet.Classes.Length} workload classes");
        var identity = NodeHost.Identity(app);
        if (identity.Role != NodeRole.Silo)
        {
            Console.WriteLine($"gRPC listening on {NodeHost.GrpcAddress(app)}");
        }

        Console.WriteLine($"Admin listening on {NodeHost.AdminAddress(app)}");
        // Where the admin key is, never the key.
        var security = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ControlPlane.Service.Security.SecurityOptions>>().Value;
        if (security.BootstrapKey is not null)
        {
            Console.WriteLine("Admin key: the configured bootstrap key (CONTROLPLANE_ADMIN_KEY or --admin-key-file)");
        }
        else if (security.BootstrapKeyPath is { } keyPath && File.Exists(keyPath))
        {
            Console.WriteLine($"Admin key: {Path.GetFullPath(keyPath)} (send it as 'Authorization: Bearer <key>')");
        }

        if (identity.Redis is not null)
        {
            var silo = app.Services.GetService<ILocalSiloDetails>();
            var members = app.Services.GetService<IClusterMembershipService>()?.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active);
            Console.WriteLine($"Cluster node {identity.NodeName} ({identity.Role}) in cluster '{identity.ClusterId}' via Redis {identity.Redis}" +
                (silo is null ? "" : $", silo {silo.SiloAddress}; {members} active silo(s)"));
        }

        Console.Out.Flush();
    }
}
