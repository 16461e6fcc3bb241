using System.Diagnostics;
using System.Diagnostics.Metrics;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Service.RequestLog;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Logs;

namespace ControlPlane.Service.Tests.RequestLog;

/// <summary>The background writer: size rotation keeping N files, valid JSON lines under concurrent writers, a full
/// queue that drops (and counts) instead of blocking, a cut-short last line, and OTLP log records.</summary>
public sealed class RequestLogWriterTests : IDisposable
{
    private readonly RequestLogFiles _files = new();

    [Fact]
    public async Task Rotation_at_the_size_limit_keeps_N_files_in_all_with_the_newest_records()
    {
        var writer = _files.Writer(o =>
        {
            o.MaxFileBytes = RequestLogOptions.MinFileBytes;
            o.Files = 3;
        });
        for (var i = 0; i < 200; i++)
        {
            writer.Write(RequestLogFiles.Record("req-" + i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture)));
        }

        await writer.DisposeAsync();

        var names = Directory.GetFiles(_files.Directory, "*.jsonl").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(new List<string> { "requests.1.jsonl", "requests.2.jsonl", "requests.jsonl" }, names);
        var generations = new[] { "requests.2.jsonl", "requests.1.jsonl", "requests.jsonl" }.Select(n => Path.Combine(_files.Directory, n)).ToArray();
        Assert.All(generations, path => Assert.InRange(new FileInfo(path).Length, 1, RequestLogOptions.MinFileBytes));
        // Oldest file first: the request ids run on without a gap across the kept files and end with the last record.
        var ids = generations.SelectMany(RequestLogFiles.ReadLines).Select(l => l.GetProperty("request_id").GetString()!).ToList();
        Assert.Equal("req-0199", ids[^1]);
        var first = int.Parse(ids[0][4..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(first > 0, "older files were deleted");
        Assert.Equal(Enumerable.Range(first, 200 - first).Select(i => "req-" + i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture)), ids);
    }

    [Fact]
    public async Task Concurrent_writers_produce_one_valid_JSON_line_per_record_even_with_hostile_strings()
    {
        var writer = _files.Writer();
        const int threads = 8;
        const int each = 500;
        await Task.WhenAll(Enumerable.Range(0, threads).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < each; i++)
            {
                // Request ids come from the wire: quotes, newlines, separators and non-ASCII must not break a line.
                writer.Write(RequestLogFiles.Record($"t{t}-{i}\n\"\u2028é\\"));
            }
        })));
        await writer.DisposeAsync();

        var lines = RequestLogFiles.ReadLines(_files.LogPath);
        Assert.Equal(threads * each, lines.Count);
        var expected = Enumerable.Range(0, threads).SelectMany(t => Enumerable.Range(0, each).Select(i => $"t{t}-{i}\n\"\u2028é\\")).ToHashSet();
        Assert.True(expected.SetEquals(lines.Select(l => l.GetProperty("request_id").GetString()!)));
        Assert.Equal(threads * each, writer.WrittenCount);
        Assert.Equal(0, writer.DroppedCount);
    }

    [Fact]
    public async Task A_full_queue_drops_the_oldest_records_and_counts_them_without_blocking_the_caller()
    {
        // A FIFO without a reader: opening it for writing blocks the writer's loop, as a stuck disk would.
        var fifo = _files.LogPath;
        using (var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [fifo]) { UseShellExecute = false })!)
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        using var dropped = new DroppedMeter();
        var writer = _files.Writer(o => o.QueueCapacity = 16);
        const int records = 1_000;
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < records; i++)
        {
            writer.Write(RequestLogFiles.Record("req-" + i));
        }

        watch.Stop();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"Write blocked for {watch.Elapsed}");
        // The loop may have taken one record off the queue before it blocked on the file.
        Assert.InRange(writer.DroppedCount, records - 16 - 1, records - 16);
        Assert.Equal(writer.DroppedCount, dropped.Total);

        // A reader arrives: the kept records (the newest) flow, and disposal completes.
        var read = Task.Run(() => File.ReadAllLines(fifo));
        await writer.DisposeAsync();
        var lines = await read.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(records - writer.DroppedCount, lines.Length);
        Assert.Contains("\"request_id\":\"req-999\"", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_that_cannot_be_written_drops_and_counts_its_records_and_never_throws_to_the_caller()
    {
        // The log's directory is a regular file: every open fails with an I/O error.
        var blocker = Path.Combine(_files.Directory, "not-a-directory");
        await File.WriteAllTextAsync(blocker, "");
        var options = new ControlPlaneOptions();
        options.RequestLog.Path = Path.Combine(blocker, "requests.jsonl");
        var writer = new RequestLogWriter(Options.Create(options), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        for (var i = 0; i < 10; i++)
        {
            writer.Write(RequestLogFiles.Record("req-" + i));
        }

        await writer.DisposeAsync();

        Assert.Equal((10L, 0L), (writer.DroppedCount, writer.WrittenCount));
        // After disposal a record is dropped too, not queued for a loop that has ended.
        writer.Write(RequestLogFiles.Record("late"));
        Assert.Equal(11, writer.DroppedCount);
    }

    [Fact]
    public async Task A_second_writer_on_the_same_file_drops_its_records_instead_of_interleaving_until_the_first_is_gone()
    {
        var first = _files.Writer();
        first.Write(RequestLogFiles.Record("first-0"));
        await WaitAsync(() => first.WrittenCount == 1);
        var second = _files.Writer();
        second.Write(RequestLogFiles.Record("second-0"));
        await WaitAsync(() => second.DroppedCount == 1);
        first.Write(RequestLogFiles.Record("first-1"));
        await first.DisposeAsync();
        second.Write(RequestLogFiles.Record("second-1"));
        await second.DisposeAsync();

        var ids = RequestLogFiles.ReadLines(_files.LogPath).Select(l => l.GetProperty("request_id").GetString()).ToList();
        Assert.Equal(new List<string?> { "first-0", "first-1", "second-1" }, ids);
        Assert.Equal((1L, 1L), (second.DroppedCount, second.WrittenCount));
    }

    [Fact]
    public async Task A_last_line_cut_short_by_a_crash_is_ended_before_new_lines_are_appended()
    {
        await File.WriteAllTextAsync(_files.LogPath, "{\"request_id\":\"before\"}\n{\"request_id\":\"cut");
        var writer = _files.Writer();
        writer.Write(RequestLogFiles.Record("after"));
        await writer.DisposeAsync();

        var lines = await File.ReadAllLinesAsync(_files.LogPath);
        Assert.Equal(3, lines.Length);
        Assert.Equal("{\"request_id\":\"cut", lines[1]);
        using var appended = System.Text.Json.JsonDocument.Parse(lines[2]);
        Assert.Equal("after", appended.RootElement.GetProperty("request_id").GetString());
    }

    [Fact]
    public async Task With_otlp_each_record_is_a_log_record_of_the_request_log_category_with_the_fields_as_attributes()
    {
        var exported = new List<LogRecord>();
        using (var loggers = LoggerFactory.Create(b => b.AddOpenTelemetry(o => o.AddInMemoryExporter(exported))))
        {
            var options = new ControlPlaneOptions();
            options.RequestLog.Otlp = true;
            var writer = new RequestLogWriter(Options.Create(options), TimeProvider.System, loggers);
            var record = RequestLogFiles.Record("req-otlp", OutcomeStatus.RateLimited);
            writer.Write(record);
            await writer.DisposeAsync();
        }

        var log = Assert.Single(exported);
        Assert.Equal(RequestLogWriter.Category, log.CategoryName);
        var attributes = log.Attributes!.ToDictionary(a => a.Key, a => a.Value);
        Assert.Equal("req-otlp", attributes["request_id"]);
        Assert.Equal("rate_limited", attributes["status"]);
        Assert.Equal("unknown", attributes["route_reason"]);
        Assert.Equal("gpt-4o", attributes["primary_model"]);
        Assert.Equal(1_000L, attributes["input_tokens"]);
        Assert.False(File.Exists(_files.LogPath));
    }

    [Theory]
    [InlineData(-0.1, 1L << 20, 5)]
    [InlineData(1.1, 1L << 20, 5)]
    [InlineData(1.0, 1_000, 5)]
    [InlineData(1.0, 1L << 20, 0)]
    public void Options_out_of_range_are_refused_by_name(double rate, long maxBytes, int files)
    {
        var options = new RequestLogOptions { SampleRate = rate, MaxFileBytes = maxBytes, Files = files };
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new ControlPlaneOptions { RequestLog = options }.Validate());
        Assert.Contains(error.ParamName, new[] { nameof(RequestLogOptions.SampleRate), nameof(RequestLogOptions.MaxFileBytes), nameof(RequestLogOptions.Files) });
    }

    public void Dispose() => _files.Dispose();

    private static async Task WaitAsync(Func<bool> done)
    {
        for (var i = 0; i < 3_000 && !done(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(done());
    }

    private sealed class DroppedMeter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public DroppedMeter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == RequestLogWriter.MeterName && instrument.Name == "controlplane.request_log.dropped")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }
}
