using System.Net;
using ControlPlane.Fleet;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Federation;

/// <summary>Two regional clusters in this test process: us-east (policy home, home of <c>ep-us</c>) and eu-west (home of
/// <c>ep-eu</c>), one node each with its own grain storage, federated over their data-plane listeners with the all-roles
/// test key as the federation credential.</summary>
internal sealed class TwoRegions : IAsyncDisposable
{
    public const string Yaml = """
        regions:
          - { name: us-east, policy_home: true }
          - { name: eu-west }
        endpoints:
          - { id: ep-us, provider: openai, model: gpt-4o, model_version: gpt-4o-2024-08-06, region: us-east, context_window: 128000,
              price_per_1k: { input: 0.0025, output: 0.01 }, owner_team: t, on_call: c }
          - { id: ep-eu, provider: openai, model: gpt-4o, model_version: gpt-4o-2024-08-06, region: eu-west, context_window: 128000,
              price_per_1k: { input: 0.0025, output: 0.01 }, owner_team: t, on_call: c }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [ep-us], fallbacks: [{ endpoint: ep-eu, eval_score: 0.95 }], slo: { availability: 0.99 } }
          - { name: chat_eu, owner: t, mode: auto_fallback, primary: [ep-eu], fallbacks: [{ endpoint: ep-us, eval_score: 0.95 }], slo: { availability: 0.99 } }

        """;

    public static readonly FleetDefinition Fleet = FleetLoader.Load(new StringReader(Yaml), "regions.yaml");

    private TwoRegions(ControlPlaneNode us, ControlPlaneNode eu, int usPort, int euPort)
    {
        Us = us;
        Eu = eu;
        UsPort = usPort;
        EuPort = euPort;
    }

    public ControlPlaneNode Us { get; private set; }

    public ControlPlaneNode Eu { get; private set; }

    public int UsPort { get; }

    public int EuPort { get; }

    public static async Task<TwoRegions> StartAsync(string? euDataDirectory = null)
    {
        int usPort = FreePort.Next();
        int euPort = FreePort.Next();
        var us = await StartRegionAsync("us-east", usPort, "eu-west", euPort, null);
        try
        {
            var eu = await StartRegionAsync("eu-west", euPort, "us-east", usPort, euDataDirectory);
            return new TwoRegions(us, eu, usPort, euPort);
        }
        catch
        {
            await us.DisposeAsync();
            throw;
        }
    }

    public static Task<ControlPlaneNode> StartRegionAsync(string region, int port, string peer, int peerPort, string? dataDirectory) =>
        ControlPlaneNode.StartAsync(
            new NodeOptions
            {
                Storage = dataDirectory is null ? ControlPlaneStorage.Memory : ControlPlaneStorage.Sqlite,
                DataDirectory = dataDirectory ?? NodeOptions.DefaultDataDirectory,
                AcceptUnroutedOutcomes = true,
                Region = region,
                FederationPeers = System.Collections.Immutable.ImmutableDictionary.Create<string, Uri>(StringComparer.Ordinal)
                    .Add(peer, new Uri($"http://127.0.0.1:{peerPort}")),
                FederationCredential = TestCredentials.AdminKey,
            },
            Fleet,
            grpcEndpoint: new IPEndPoint(IPAddress.Loopback, port));

    /// <summary>Restarts eu-west on its SQLite directory (its federation link and grain state as a restart leaves them).</summary>
    public async Task RestartEuAsync(string dataDirectory)
    {
        await Eu.DisposeAsync();
        Eu = await StartRegionAsync("eu-west", EuPort, "us-east", UsPort, dataDirectory);
    }

    public async ValueTask DisposeAsync()
    {
        await Eu.DisposeAsync();
        await Us.DisposeAsync();
    }
}
