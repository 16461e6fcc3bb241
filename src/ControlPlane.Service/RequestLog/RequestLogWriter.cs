using System.Buffers;
using System.Diagnostics.Metrics;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.RequestLog;

/// <summary>
/// The request log's background writer. <see cref="Write"/> never waits: it puts the record in a bounded queue whose
/// oldest record is dropped (and counted in <c>controlplane.request_log.dropped</c>) when the writer falls behind.
/// One background loop serializes each record as a JSON line into the <see cref="RotatingJsonLinesFile"/> and/or logs
/// it to the <see cref="Category"/> logger (OTLP), flushing whenever the queue runs empty, at least every
/// <see cref="RequestLogOptions.FlushInterval"/> under load, and at disposal (shutdown).
/// </summary>
internal sealed partial class RequestLogWriter : IAsyncDisposable
{
    /// <summary>The logger category of the OTLP records.</summary>
    public const string Category = "ControlPlane.RequestLog";

    /// <summary>The meter of the request log's counters (the product's meter).</summary>
    public const string MeterName = "ControlPlane";

    private readonly RequestLogOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _records;
    private readonly ILogger<RequestLogWriter> _logger;
    private readonly Channel<RequestLogRecord>? _queue;
    private readonly RotatingJsonLinesFile? _file;
    private readonly Task _loop = Task.CompletedTask;
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _written;
    private readonly Counter<long> _dropped;
    private static readonly KeyValuePair<string, object?> QueueFull = new("controlplane.request_log.drop_reason", "queue_full");
    private static readonly KeyValuePair<string, object?> WriteFailed = new("controlplane.request_log.drop_reason", "write_failed");
    private static readonly KeyValuePair<string, object?> FileSink = new("controlplane.request_log.sink", "file");
    private static readonly KeyValuePair<string, object?> OtlpSink = new("controlplane.request_log.sink", "otlp");
    private long _droppedCount;
    private long _writtenCount;
    private int _disposed;
    // Set while the file cannot be written: one warning per failure streak, not one per record.
    private bool _failing;

    public RequestLogWriter(IOptions<ControlPlaneOptions> options, TimeProvider time, ILoggerFactory loggers, IMeterFactory? meterFactory = null)
    {
        _options = options.Value.RequestLog.Validate();
        _time = time;
        _records = loggers.CreateLogger(Category);
        _logger = loggers.CreateLogger<RequestLogWriter>();
        _ownsMeter = meterFactory is null;
        // Tagged with the node, like the node's other instruments: one meter identity per node.
        _meter = Telemetry.ControlPlaneTelemetry.CreateMeter(meterFactory, options.Value.NodeId);
        _written = _meter.CreateCounter<long>("controlplane.request_log.records", "{record}", "Request log records written, by sink (file, otlp).");
        _dropped = _meter.CreateCounter<long>("controlplane.request_log.dropped", "{record}",
            "Request log records dropped: the writer's queue was full (the oldest goes) or the file could not be written.");
        if (!_options.Enabled)
        {
            return;
        }

        if (_options.Path is { } path)
        {
            _file = new RotatingJsonLinesFile(path, _options.MaxFileBytes, _options.Files);
        }

        _queue = Channel.CreateBounded<RequestLogRecord>(
            new BoundedChannelOptions(_options.QueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => Dropped(QueueFull));
        _loop = Task.Run(RunAsync, CancellationToken.None);
    }

    /// <summary>True when records go to a file or the OTLP logger.</summary>
    public bool Enabled => _queue is not null;

    /// <summary>The sampling rate of ordinary (successful primary) outcomes.</summary>
    public double SampleRate => _options.SampleRate;

    /// <summary>The file written, or null.</summary>
    public string? FilePath => _file?.FilePath;

    /// <summary>Records dropped since start.</summary>
    public long DroppedCount => Interlocked.Read(ref _droppedCount);

    /// <summary>Records written to their sinks since start.</summary>
    public long WrittenCount => Interlocked.Read(ref _writtenCount);

    /// <summary>Queues <paramref name="record"/> for the writer; never waits (a full queue drops its oldest record).</summary>
    public void Write(RequestLogRecord record)
    {
        // After disposal the queue is complete: the record is counted as dropped, never waited on.
        if (_queue is not null && !_queue.Writer.TryWrite(record))
        {
            Dropped(QueueFull);
        }
    }

    /// <summary>Writes what is queued, flushes and closes the file. Records written afterwards are dropped.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue?.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private async Task RunAsync()
    {
        var reader = _queue!.Reader;
        var buffer = new ArrayBufferWriter<byte>(4096);
        // Relaxed escaping: model names and ids stay readable; the output is a log file, not HTML.
        await using var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        var lastFlush = _time.GetTimestamp();
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var record))
                {
                    WriteOne(record, json, buffer);
                    if (_time.GetElapsedTime(lastFlush) >= _options.FlushInterval)
                    {
                        FlushFile();
                        lastFlush = _time.GetTimestamp();
                    }
                }

                // The queue ran empty: what was written is handed to the OS now, not a second later.
                FlushFile();
                lastFlush = _time.GetTimestamp();
            }
        }
        finally
        {
            _file?.Dispose();
        }
    }

    private void WriteOne(RequestLogRecord record, Utf8JsonWriter json, ArrayBufferWriter<byte> buffer)
    {
        if (_file is not null)
        {
            buffer.ResetWrittenCount();
            json.Reset(buffer);
            RequestLogJson.Write(json, record);
            json.Flush();
            buffer.Write("\n"u8);
            try
            {
                _file.Append(buffer.WrittenSpan);
                _failing = false;
                Written(FileSink);
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException)
            {
                // A full or failing disk loses records (counted), never blocks outcomes; the file is reopened next time.
                Dropped(WriteFailed);
                if (!_failing)
                {
                    _failing = true;
                    LogWriteFailed(_logger, _file.FilePath, error);
                }

                _file.Close();
            }
        }

        if (_options.Otlp)
        {
            _records.Log(LogLevel.Information, RecordEvent, new RequestLogState(record), null, static (state, _) => state.ToString());
            Written(OtlpSink);
        }
    }

    private void FlushFile()
    {
        try
        {
            _file?.Flush();
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            LogWriteFailed(_logger, _file!.FilePath, error);
            _file.Close();
        }
    }

    private void Written(KeyValuePair<string, object?> sink)
    {
        Interlocked.Increment(ref _writtenCount);
        _written.Add(1, sink);
    }

    private void Dropped(KeyValuePair<string, object?> reason)
    {
        Interlocked.Increment(ref _droppedCount);
        _dropped.Add(1, reason);
    }

    private static readonly EventId RecordEvent = new(1, "RequestLogRecord");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing the request log {Path} failed; records are dropped until it can be written again.")]
    private static partial void LogWriteFailed(ILogger logger, string path, Exception error);
}
