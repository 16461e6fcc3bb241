using ControlPlane.Fleet;
using ControlPlane.Service.Federation;

namespace ControlPlane.Server.Tests.Federation;

/// <summary>The federation flags (<c>--region</c>, <c>--federation-peer</c>, <c>--federation-credential-file</c> /
/// <c>CONTROLPLANE_FEDERATION_CREDENTIAL</c>): parsed, checked against the fleet's <c>regions:</c>, bad ones refused
/// with a clear message before anything starts.</summary>
public sealed class NodeOptionsFederationTests
{
    private const string Endpoints = """
        endpoints:
          - { id: ep-us, provider: openai, model: gpt-4o, model_version: gpt-4o-2024-08-06, region: us-east, context_window: 128000,
              price_per_1k: { input: 0.0025, output: 0.01 }, owner_team: t, on_call: c }
          - { id: ep-eu, provider: openai, model: gpt-4o, model_version: gpt-4o-2024-08-06, region: eu-west, context_window: 128000,
              price_per_1k: { input: 0.0025, output: 0.01 }, owner_team: t, on_call: c }
        classes:
          - { name: chat, owner: t, mode: auto_fallback, primary: [ep-us], fallbacks: [{ endpoint: ep-eu, eval_score: 0.95 }], slo: { availability: 0.99 } }

        """;

    private static FleetDefinition Fleet(string regions = "") => FleetLoader.Load(new StringReader(Endpoints + regions), "fleet.yaml");

    private static readonly string Regions = """
        regions:
          - { name: us-east, federation_url: "http://127.0.0.1:7001" }
          - { name: eu-west, federation_url: "http://127.0.0.1:7002" }
          - { name: ap-south }

        """;

    private static NodeOptions Parse(params string[] args)
    {
        Assert.True(NodeOptions.TryParse(args, out var options, out var error), error);
        return options;
    }

    private static FederationOptions Resolve(NodeOptions options, FleetDefinition fleet)
    {
        var resolved = new FederationOptions();
        options.ResolveFederation(fleet)(resolved);
        resolved.Validate();
        return resolved;
    }

    [Fact]
    public void Without_region_federation_is_off()
    {
        var options = Parse();
        Assert.Null(options.Region);
        Assert.False(Resolve(options, Fleet(Regions)).Enabled);
        Assert.False(Resolve(options, Fleet()).Enabled);
    }

    [Fact]
    public void Region_and_peers_resolve_against_the_fleet_with_flags_overriding_federation_url()
    {
        var options = Parse("--region", "us-east", "--federation-peer", "eu-west=http://127.0.0.1:9002", "--federation-peer=ap-south=https://ap.example:443");
        var resolved = Resolve(options with { FederationCredential = "cpk_x" }, Fleet(Regions));

        Assert.Equal("us-east", resolved.Region);
        Assert.Equal("us-east", resolved.PolicyHome);
        Assert.Equal("cpk_x", resolved.Credential);
        Assert.Equal(
            [("ap-south", new Uri("https://ap.example:443")), ("eu-west", new Uri("http://127.0.0.1:9002"))],
            resolved.Peers.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, p.Value)));
    }

    [Theory]
    [InlineData("--region", "us east", "Invalid --region")]
    [InlineData("--federation-peer", "eu-west", "Invalid --federation-peer")]
    [InlineData("--federation-peer", "eu-west=ftp://x", "Invalid --federation-peer")]
    [InlineData("--federation-peer", "=http://x:1", "Invalid --federation-peer")]
    [InlineData("--federation-credential-file", "", "needs a value")]
    public void Bad_flag_values_are_refused(string flag, string value, string message)
    {
        Assert.False(NodeOptions.TryParse([flag, value], out _, out var error));
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_peer_given_twice_is_refused()
    {
        Assert.False(NodeOptions.TryParse(["--federation-peer", "eu-west=http://a:1", "--federation-peer", "eu-west=http://b:1"], out _, out var error));
        Assert.Contains("given twice", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--region", "mars" }, "Invalid --region 'mars': not a region of the fleet file; its regions are us-east, eu-west, ap-south.")]
    [InlineData(new[] { "--region", "us-east", "--federation-peer", "us-east=http://127.0.0.1:1", "--federation-peer", "ap-south=http://127.0.0.1:2" },
        "Invalid --federation-peer 'us-east=http://127.0.0.1:1/': 'us-east' is this cluster's own region.")]
    [InlineData(new[] { "--region", "us-east", "--federation-peer", "mars=http://127.0.0.1:1" }, "'mars' is not a region of the fleet file")]
    [InlineData(new[] { "--region", "us-east" }, "No federation URL for peer region 'ap-south'")]
    [InlineData(new[] { "--federation-peer", "eu-west=http://127.0.0.1:1" }, "needs '--region NAME'")]
    public void Flags_that_do_not_fit_the_fleet_are_start_up_errors(string[] args, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => Parse(args).ResolveFederation(Fleet(Regions)));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Region_with_a_fleet_without_regions_is_a_start_up_error()
    {
        var e = Assert.Throws<ArgumentException>(() => Parse("--region", "us-east").ResolveFederation(Fleet()));
        Assert.Contains("needs 'regions:' in the fleet file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_credential_comes_from_the_file_else_the_environment_and_is_checked()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "cpk_fromfile\n");
            Assert.True(NodeOptions.TryLoadFederationCredential(Parse("--federation-credential-file", path), _ => "cpk_env", out var fromFile, out var error), error);
            Assert.Equal("cpk_fromfile", fromFile.FederationCredential);

            Assert.True(NodeOptions.TryLoadFederationCredential(Parse(), name => name == NodeOptions.FederationCredentialVariable ? "cpk_env" : null, out var fromEnv, out error), error);
            Assert.Equal("cpk_env", fromEnv.FederationCredential);

            Assert.True(NodeOptions.TryLoadFederationCredential(Parse(), _ => null, out var none, out error), error);
            Assert.Null(none.FederationCredential);

            File.WriteAllText(path, "two words");
            Assert.False(NodeOptions.TryLoadFederationCredential(Parse("--federation-credential-file", path), _ => null, out _, out error));
            Assert.Contains("Invalid --federation-credential-file", error, StringComparison.Ordinal);
            Assert.DoesNotContain("two words", error, StringComparison.Ordinal);

            Assert.False(NodeOptions.TryLoadFederationCredential(Parse("--federation-credential-file", path + ".missing"), _ => null, out _, out error));
            Assert.Contains("Cannot read --federation-credential-file", error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
