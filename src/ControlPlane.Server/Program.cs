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

        WebApplication app;
        try
        {
            app = NodeHost.Build(options);
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            await Console.Error.WriteLineAsync($"controlplane: failed to start: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        await using (app.ConfigureAwait(false))
        {
            Console.WriteLine($"gRPC listening on {NodeHost.GrpcAddress(app)}");
            Console.Out.Flush();
            await app.WaitForShutdownAsync().ConfigureAwait(false);
        }

        return 0;
    }
}
