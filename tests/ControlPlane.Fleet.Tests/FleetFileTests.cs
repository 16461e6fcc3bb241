namespace ControlPlane.Fleet.Tests;

public sealed class FleetFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fleet-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Missing_file_is_one_clear_error_naming_the_path()
    {
        string path = Path.Combine(_directory, "absent.yaml");

        var e = Assert.Throws<FleetConfigException>(() => FleetLoader.LoadFile(path));

        Assert.Equal($"{path}: file not found", Assert.Single(e.Errors).ToString());
        Assert.IsType<FileNotFoundException>(e.InnerException);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_is_not_a_fleet_file()
    {
        var e = Assert.Throws<FleetConfigException>(() => FleetLoader.LoadFile(_directory));

        var error = Assert.Single(e.Errors);
        Assert.Equal((_directory, 0), (error.Source, error.Line));
        Assert.StartsWith("cannot read the file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_in_a_file_name_the_path_as_given()
    {
        string path = Path.Combine(_directory, "fleet.yaml");
        File.WriteAllText(path, FleetYaml.With((39, "    mode: queue")));

        var e = Assert.Throws<FleetConfigException>(() => FleetLoader.LoadFile(path));

        Assert.Equal(
            $"{path}:39:11: classes.legal.mode: unknown mode 'queue'; expected one of auto_fallback, queue_only, fail",
            Assert.Single(e.Errors).ToString());
    }

    [Fact]
    public void A_valid_file_with_a_byte_order_mark_and_crlf_line_ends_loads()
    {
        string path = Path.Combine(_directory, "fleet.yaml");
        File.WriteAllText(path, FleetYaml.Base.Replace("\n", "\r\n", StringComparison.Ordinal), new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        var fleet = FleetLoader.LoadFile(path);

        Assert.Equal(path, fleet.SourceName);
        Assert.Equal(2, fleet.Classes.Length);
    }

    [Fact]
    public void Empty_and_comment_only_files_are_errors()
    {
        foreach (string text in new[] { "", "# nothing here yet\n", "---\n" })
        {
            string path = Path.Combine(_directory, "empty.yaml");
            File.WriteAllText(path, text);

            var e = Assert.Throws<FleetConfigException>(() => FleetLoader.LoadFile(path));

            Assert.Equal($"{path}:1:1: the file is empty; expected a mapping with 'endpoints' and 'classes'", Assert.Single(e.Errors).ToString());
        }
    }
}
