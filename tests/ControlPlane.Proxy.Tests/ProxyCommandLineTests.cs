namespace ControlPlane.Proxy.Tests;

/// <summary>The command line and the class-keys file: bad input is refused with the argument or file:line:column named.</summary>
public sealed class ProxyCommandLineTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cp-proxy-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_full_command_line_gives_the_options()
    {
        var upstreams = Write("up.json", """{"endpoints":{"e":{"url":"http://127.0.0.1:9","api":"openai"}}}""");
        var keys = Write("keys.yaml", "sk-support-0001: customer_chat\n\"sk-legal-00001\": legal_draft\n");
        var credential = Write("credential", "cpk_abc_def\n");

        Assert.True(ProxyCommandLine.TryParse(
            ["--control-plane", "http://127.0.0.1:50051", "--upstreams", upstreams, "--credential-file", credential, "--listen", "127.0.0.1:8099",
             "--class-keys", keys, "--class-header", "off"], _ => null, out var options, out var error), error);

        Assert.Equal("cpk_abc_def", options.Credential);
        Assert.Equal(8099, options.Listen.Port);
        Assert.False(options.ClassHeader);
        Assert.Equal("legal_draft", options.ClassKeys!["sk-legal-00001"]);
        Assert.Single(options.Upstreams!);
        options.Validate();
    }

    [Fact]
    public void The_credential_falls_back_to_the_environment()
    {
        var upstreams = Write("up.json", """{"endpoints":{}}""");
        Assert.True(ProxyCommandLine.TryParse(["--control-plane", "http://127.0.0.1:1", "--upstreams", upstreams],
            name => name == ProxyCommandLine.CredentialVariable ? "cpk_from_env" : null, out var options, out _));
        Assert.Equal("cpk_from_env", options.Credential);
    }

    [Theory]
    [InlineData("--listen", "nowhere", "--listen")]
    [InlineData("--class-header", "maybe", "--class-header")]
    [InlineData("--control-plane", "not a url", "--control-plane")]
    [InlineData("--bogus", "x", "--bogus: unknown argument")]
    public void A_bad_argument_is_named(string name, string value, string expected)
    {
        var upstreams = Write("up.json", """{"endpoints":{}}""");
        Assert.False(ProxyCommandLine.TryParse(["--control-plane", "http://127.0.0.1:1", "--upstreams", upstreams, name, value], _ => null, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sk-support-0001: customer_chat\nsk-support-0001: legal_draft\n", "2:1: this key is listed twice")]
    [InlineData("short: customer_chat\n", "1:1: a key must be")]
    [InlineData("sk-support-0001: \"bad class!\"\n", "1:18: \"bad class!\" is not a workload class name")]
    [InlineData("- a\n- b\n", "1:1: the file must be a map")]
    [InlineData("sk-support-0001: [a]\n", "1:18: expected a workload class")]
    [InlineData("sk-support-0001: {\n", "keys.yaml:")]
    public void A_bad_class_keys_file_names_the_line_and_column(string text, string expected)
    {
        var error = Assert.Throws<ClassKeysFileException>(() => ClassKeysFile.Parse(text, "keys.yaml"));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }
}
