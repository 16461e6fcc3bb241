using System.Runtime.InteropServices;
using ControlPlane.Proxy;

if (!ProxyCommandLine.TryParse(args, Environment.GetEnvironmentVariable, out var options, out var error))
{
    await Console.Error.WriteLineAsync(error);
    return args.Contains("--help") || args.Contains("-h") ? 0 : 2;
}

ProxyHost proxy;
try
{
    proxy = await ProxyHost.StartAsync(options);
}
catch (Exception failure) when (failure is ArgumentException or IOException)
{
    await Console.Error.WriteLineAsync($"controlplane-proxy: {failure.Message}");
    return 1;
}

await using (proxy)
{
    var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
    {
        context.Cancel = true;
        stop.TrySetResult();
    });
    using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
    {
        context.Cancel = true;
        stop.TrySetResult();
    });
    Console.WriteLine($"controlplane-proxy listening on {proxy.BaseUri} (control plane {options.ControlPlane}, {options.Upstreams!.Count} upstreams)");
    await stop.Task;
}

return 0;
