namespace ControlPlane.Grains.Grpc.Tests;

public sealed class GrpcGrainTransportOptionsTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        Assert.True(new GrpcGrainTransportOptionsValidator().Validate(null, new GrpcGrainTransportOptions()).Succeeded);
    }

    [Fact]
    public void Out_of_range_values_are_named()
    {
        var result = new GrpcGrainTransportOptionsValidator().Validate(null, new GrpcGrainTransportOptions
        {
            MaxRedirects = 33,
            RetryDelay = TimeSpan.FromMilliseconds(200),
            MaxRetryDelay = TimeSpan.FromMilliseconds(100),
            ConnectTimeout = TimeSpan.Zero,
        });

        Assert.True(result.Failed);
        Assert.Contains("MaxRedirects", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("MaxRetryDelay", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("ConnectTimeout", result.FailureMessage, StringComparison.Ordinal);
    }
}
