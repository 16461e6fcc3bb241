namespace ControlPlane.Service.RequestLog;

/// <summary>The request log: one JSON line per accepted outcome, in a size-rotated file and/or as OTLP log records
/// (<c>docs/request-log.md</c>).</summary>
public sealed class RequestLogOptions
{
    /// <summary>Smallest file size before rotation, in bytes (tests use small files; the server's flag is in MB).</summary>
    public const long MinFileBytes = 4 * 1024;

    /// <summary>Largest file size before rotation, in bytes (100 GiB).</summary>
    public const long MaxFileBytesLimit = 100L * 1024 * 1024 * 1024;

    /// <summary>The JSON-lines file; null writes no file. Server: <c>--request-log FILE|off</c>, default
    /// <c>DATA-DIR/requests.jsonl</c> (off with <c>--storage memory</c> and no <c>--data-dir</c>).
    /// <value>Null or a path. Defaults to null.</value></summary>
    public string? Path { get; set; }

    /// <summary>Also write each record to the <c>ControlPlane.RequestLog</c> logger category with the fields as
    /// structured state, which the OpenTelemetry log exporter sends as OTLP log records when OTLP is on. Server:
    /// <c>--request-log-otlp</c>.
    /// <value>Defaults to false.</value></summary>
    public bool Otlp { get; set; }

    /// <summary>Share of requests logged, decided per request (a hash of its request id, else of its decision), so all
    /// attempts of a request are kept or dropped together. Errors, fallbacks and quality failures are always logged.
    /// Server: <c>--request-log-sample RATE</c>.
    /// <value>Must be in [0, 1]. Defaults to 1.</value></summary>
    public double SampleRate { get; set; } = 1.0;

    /// <summary>Size at which the file is rotated. Server: <c>--request-log-max-mb N</c>.
    /// <value>Must be between 4 KiB and 100 GiB. Defaults to 100 MiB.</value></summary>
    public long MaxFileBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Files kept in all: the current one and <c>Files - 1</c> rotated ones (<c>requests.1.jsonl</c> is the
    /// newest). Server: <c>--request-log-files N</c>.
    /// <value>Must be between 1 and 100. Defaults to 5.</value></summary>
    public int Files { get; set; } = 5;

    /// <summary>Records queued for the background writer; beyond it the oldest is dropped (counted in
    /// <c>controlplane.request_log.dropped</c>): the outcome path never waits on the disk.
    /// <value>Must be between 16 and 10,000,000. Defaults to 65,536.</value></summary>
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>Longest time a written record stays in the writer's buffer under sustained load (an idle writer flushes
    /// at once); also flushed at shutdown.
    /// <value>Must be between 10 ms and 1 s. Defaults to 1 s.</value></summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>True when records go anywhere.</summary>
    public bool Enabled => Path is not null || Otlp;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first bad option.</summary>
    public RequestLogOptions Validate()
    {
        if (Path is not null && (Path.Length == 0 || Path.Length > 4096 || Path.Contains('\0', StringComparison.Ordinal)))
        {
            throw new ArgumentOutOfRangeException(nameof(Path), Path, "RequestLogOptions.Path must be null or a file path of 1 to 4096 characters.");
        }

        if (!(SampleRate is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(SampleRate), SampleRate, "RequestLogOptions.SampleRate must be in [0, 1].");
        }

        if (MaxFileBytes is < MinFileBytes or > MaxFileBytesLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxFileBytes), MaxFileBytes, "RequestLogOptions.MaxFileBytes must be between 4 KiB and 100 GiB.");
        }

        if (Files is < 1 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(Files), Files, "RequestLogOptions.Files must be between 1 and 100.");
        }

        if (QueueCapacity is < 16 or > 10_000_000)
        {
            throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, "RequestLogOptions.QueueCapacity must be between 16 and 10,000,000.");
        }

        if (FlushInterval < TimeSpan.FromMilliseconds(10) || FlushInterval > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(FlushInterval), FlushInterval, "RequestLogOptions.FlushInterval must be between 10 ms and 1 s.");
        }

        return this;
    }
}
