namespace ControlPlane.Service.RequestLog;

/// <summary>
/// A JSON-lines file rotated by size: a line that would take the file past <c>maxBytes</c> first moves it to
/// <c>NAME.1.EXT</c> (the older ones shift up, the oldest beyond <c>files - 1</c> is deleted), so at most
/// <c>files</c> files exist. A line is never split across files. Appends to an existing file at start; one whose last
/// line was cut short by a crash gets a newline first, so every following line parses. Not thread-safe: one writer
/// (the request log's background loop) owns it, and it holds an exclusive lock on <c>NAME.EXT.lock</c> while open, so
/// a second process pointed at the same file (several nodes started in one directory) fails to open it (its records
/// are dropped and counted) instead of interleaving lines and racing the rotation. Written by us: no package in the
/// allowed set rotates JSON-lines files.
/// </summary>
internal sealed class RotatingJsonLinesFile : IDisposable
{
    private const int BufferBytes = 64 * 1024;

    private readonly string _path;
    private readonly long _maxBytes;
    private readonly int _files;
    private FileStream? _stream;
    private FileStream? _lock;
    private long _length;

    public RotatingJsonLinesFile(string path, long maxBytes, int files)
    {
        _path = Path.GetFullPath(path);
        _maxBytes = maxBytes;
        _files = files;
    }

    /// <summary>The current file's full path.</summary>
    public string FilePath => _path;

    /// <summary>The path of rotated file <paramref name="generation"/> (1 = the newest): <c>requests.1.jsonl</c>.</summary>
    public string RotatedPath(int generation)
    {
        var extension = Path.GetExtension(_path);
        return Path.Combine(Path.GetDirectoryName(_path) ?? "", Path.GetFileNameWithoutExtension(_path) + "." + generation + extension);
    }

    /// <summary>Appends one complete line (ending in a newline), rotating first when it would not fit.</summary>
    public void Append(ReadOnlySpan<byte> line)
    {
        var stream = _stream ?? Open();
        if (_length > 0 && _length + line.Length > _maxBytes)
        {
            Rotate();
            stream = Open();
        }

        stream.Write(line);
        _length += line.Length;
    }

    /// <summary>Hands buffered lines to the operating system.</summary>
    public void Flush() => _stream?.Flush(flushToDisk: false);

    /// <summary>Closes the current file (after an I/O error); the next append opens it again.</summary>
    public void Close()
    {
        var stream = _stream;
        _stream = null;
        try
        {
            stream?.Dispose();
        }
        catch (IOException)
        {
            // The buffered tail is lost with the failed device; the next append starts afresh.
        }
    }

    public void Dispose()
    {
        try
        {
            Flush();
        }
        finally
        {
            Close();
            _lock?.Dispose();
            _lock = null;
        }
    }

    private FileStream Open()
    {
        var directory = Path.GetDirectoryName(_path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        // FileShare.None is an exclusive flock on Unix: held by another process, this throws IOException.
        _lock ??= new FileStream(_path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
        var stream = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, BufferBytes);
        _length = 0;
        if (stream.CanSeek)
        {
            _length = stream.Seek(0, SeekOrigin.End);
            if (_length > 0 && !EndsWithNewline())
            {
                stream.WriteByte((byte)'\n');
                _length++;
            }
        }

        _stream = stream;
        return stream;
    }

    private bool EndsWithNewline()
    {
        using var reader = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        reader.Seek(-1, SeekOrigin.End);
        return reader.ReadByte() == '\n';
    }

    private void Rotate()
    {
        Flush();
        Close();
        if (_files == 1)
        {
            File.Delete(_path);
            return;
        }

        File.Delete(RotatedPath(_files - 1));
        for (var generation = _files - 2; generation >= 1; generation--)
        {
            var from = RotatedPath(generation);
            if (File.Exists(from))
            {
                File.Move(from, RotatedPath(generation + 1), overwrite: true);
            }
        }

        File.Move(_path, RotatedPath(1), overwrite: true);
    }
}
