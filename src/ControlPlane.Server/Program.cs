using ControlPlane.Fleet;

namespace ControlPlane.Server;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (!NodeOptions.TryParse(args, out var options, out var error))
        {
            await Console.Error.WriteLineAsync($"controlplane: {error}").ConfigureAwait(false);
            await Console.Error.WriteLineAsync(NodeOptions.Usage).ConfigureAwait(false);
            return 2;
        }

        if (options.ShowHelp)
        {
            Console.WriteLine(NodeOptions.Usage);
            return 0;
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

        WebApplication app;
        try
        {
            app = NodeHost.Build(options, fleet);
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException or ArgumentException
            or System.Data.Common.DbException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            await Console.Error.WriteLineAsync($"controlplane: failed to start: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        await using (app.ConfigureAwait(false))
        {
            Console.WriteLine($"Fleet {fleet.Name ?? "(unnamed)"} {fleet.Version} from {fleet.SourceName}: {fleet.Endpoints.Length} endpoints, {fleet.Classes.Length} workload classes");
            Console.WriteLine($"gRPC listening on {NodeHost.GrpcAddress(app)}");
            Console.WriteLine($"Admin listening on {NodeHost.AdminAddress(app)}");
            Console.Out.Flush();
            await app.WaitForShutdownAsync().ConfigureAwait(false);
        }

        return 0;
    }
}
