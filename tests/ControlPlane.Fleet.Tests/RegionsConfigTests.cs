using static ControlPlane.Fleet.Tests.FleetYaml;

namespace ControlPlane.Fleet.Tests;

/// <summary>The top-level <c>regions:</c> (federation): absent means single-region; every error with file:line:column.</summary>
public sealed class RegionsConfigTests
{
    private static string WithRegions(params string[] lines) => Base + string.Join('\n', lines) + "\n";

    [Fact]
    public void A_fleet_without_regions_is_single_region()
    {
        var fleet = Load(Base);

        Assert.Same(FleetRegions.None, fleet.Regions);
        Assert.False(fleet.Regions.IsFederated);
        Assert.Null(fleet.Regions.PolicyHome);
    }

    [Fact]
    public void Regions_are_read_with_the_first_as_policy_home_by_default()
    {
        var fleet = Load(WithRegions(
            "regions:",
            "  - name: us-east",
            "    federation_url: http://cp-us-east.internal:50051",
            "    partition_share: 0.25",
            "  - name: eu-west"));

        Assert.True(fleet.Regions.IsFederated);
        Assert.Equal(["us-east", "eu-west"], fleet.Regions.All.Select(r => r.Name));
        Assert.Equal("us-east", fleet.Regions.PolicyHome);
        var us = fleet.Regions.Find("us-east")!;
        Assert.Equal(new Uri("http://cp-us-east.internal:50051"), us.FederationUrl);
        Assert.Equal(0.25, us.EffectivePartitionShare(2));
        var eu = fleet.Regions.Find("eu-west")!;
        Assert.Null(eu.FederationUrl);
        Assert.False(eu.PolicyHome);
        Assert.Equal(0.25, eu.EffectivePartitionShare(2));
        Assert.Equal(1.0 / 6, eu.EffectivePartitionShare(3));
    }

    [Fact]
    public void A_region_marked_policy_home_is_the_policy_home()
    {
        var fleet = Load(WithRegions("regions:", "  - name: us-east", "  - name: eu-west", "    policy_home: true"));

        Assert.Equal("eu-west", fleet.Regions.PolicyHome);
        Assert.False(fleet.Regions.Find("us-east")!.PolicyHome);
    }

    [Fact]
    public void Region_fields_are_checked_with_their_positions()
    {
        string[] lines =
        [
            "regions:",                                            // 43
            "  - name: us-east",                                   // 44
            "    policy_home: true",                               // 45
            "    federation_url: ftp://x",                         // 46
            "  - name: eu-west",                                   // 47
            "    policy_home: true",                               // 48
            "    partition_share: 1.5",                            // 49
            "  - name: us-east",                                   // 50
            "  - { name: ap-south, partition_share: 0, zone: a }", // 51
        ];
        var errors = Errors(WithRegions(lines));

        Assert.Equal(
            [
                "test.yaml:46:21: regions.us-east.federation_url: must be an absolute http(s) URL, got 'ftp://x'",
                "test.yaml:48:18: regions.eu-west.policy_home: only one region may be the policy home; line 45 already is",
                "test.yaml:49:22: regions.eu-west.partition_share: must be greater than 0 and at most 1, got 1.5",
                "test.yaml:50:11: regions.us-east.name: duplicate region 'us-east'; first defined at line 44",
                $"test.yaml:51:{Col(lines[8], "zone")}: regions.ap-south.zone: unknown key; expected one of name, federation_url, policy_home, partition_share",
            ],
            errors.Select(e => e.ToString()).Where(e => !e.Contains("partition_share: must", StringComparison.Ordinal) || e.Contains(":49:", StringComparison.Ordinal)));
        Assert.Contains($"test.yaml:51:{Col(lines[8], "0,")}: regions.ap-south.partition_share: must be greater than 0 and at most 1, got 0", errors.Select(e => e.ToString()));
    }

    [Fact]
    public void With_regions_every_endpoint_region_must_be_listed()
    {
        var errors = Errors(WithRegions("regions:", "  - name: us-east", "  - name: eu-wes"));

        var error = Assert.Single(errors);
        Assert.Equal("test.yaml:19:13: endpoints.ep-b.region: unknown region 'eu-west' (did you mean 'eu-wes'?); the fleet's regions are us-east, eu-wes", error.ToString());
    }

    [Fact]
    public void An_empty_or_oversized_region_list_is_an_error()
    {
        Assert.Equal("test.yaml:43:10: regions: at least one region is required when 'regions' is given", Assert.Single(Errors(WithRegions("regions: []"))).ToString());
        string many = "regions: [" + string.Join(", ", Enumerable.Range(0, 33).Select(i => $"{{ name: r{i} }}")) + "]";
        Assert.Equal("test.yaml:43:10: regions: at most 32 regions, got 33", Assert.Single(Errors(WithRegions(many))).ToString());
    }
}
