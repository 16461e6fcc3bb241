using System.Buffers;

namespace ControlPlane.Providers;

/// <summary>Splits a server-sent-events body into events as they arrive: <see cref="Raw"/> is an event's exact bytes
/// including the blank line that ends it (so an OpenAI stream passes through byte for byte), <see cref="Data"/> its
/// <c>data:</c> payload (multi-line data joined with <c>\n</c>). An event larger than the bound is an error.</summary>
internal sealed class SseReader(Stream stream, int maxEventBytes) : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private byte[] _data = ArrayPool<byte>.Shared.Rent(4 * 1024);
    private int _start;
    private int _end;
    private int _scan;
    private bool _eof;

    /// <summary>The last event's exact bytes (valid until the next read).</summary>
    public ReadOnlyMemory<byte> Raw { get; private set; }

    /// <summary>The last event's data payload (valid until the next read); empty when it had none.</summary>
    public ReadOnlyMemory<byte> Data { get; private set; }

    /// <summary>Reads the next event; false at the end of the stream. A final event without its blank line is
    /// returned as is.</summary>
    /// <exception cref="InvalidDataException">An event longer than the bound.</exception>
    public async ValueTask<bool> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TryTakeEvent())
            {
                return true;
            }

            if (_eof)
            {
                if (_end > _start)
                {
                    Take(_end);
                    return true;
                }

                return false;
            }

            if (_end - _start >= maxEventBytes)
            {
                throw new InvalidDataException($"a server-sent event is longer than {maxEventBytes} bytes");
            }

            Compact();
            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _eof = true;
            }

            _end += read;
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        ArrayPool<byte>.Shared.Return(_data);
        _buffer = [];
        _data = [];
    }

    private bool TryTakeEvent()
    {
        var lineStart = _scan;
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', lineStart, _end - lineStart);
            if (newline < 0)
            {
                _scan = lineStart;
                return false;
            }

            var length = newline - lineStart;
            if (length == 0 || (length == 1 && _buffer[lineStart] == (byte)'\r'))
            {
                // The blank line ends the event (a blank line alone is passed on as an empty event).
                Take(newline + 1);
                return true;
            }

            lineStart = newline + 1;
        }
    }

    private void Take(int end)
    {
        Raw = _buffer.AsMemory(_start, end - _start);
        Data = ExtractData(_buffer.AsSpan(_start, end - _start));
        _start = end;
        _scan = end;
    }

    private ReadOnlyMemory<byte> ExtractData(ReadOnlySpan<byte> raw)
    {
        var length = 0;
        var lines = 0;
        while (!raw.IsEmpty)
        {
            var newline = raw.IndexOf((byte)'\n');
            var line = newline < 0 ? raw : raw[..newline];
            raw = newline < 0 ? default : raw[(newline + 1)..];
            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            if (!line.StartsWith("data:"u8))
            {
                continue;
            }

            line = line[5..];
            if (!line.IsEmpty && line[0] == (byte)' ')
            {
                line = line[1..];
            }

            var needed = length + line.Length + (lines > 0 ? 1 : 0);
            if (needed > _data.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(needed * 2);
                _data.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_data);
                _data = bigger;
            }

            if (lines > 0)
            {
                _data[length++] = (byte)'\n';
            }

            line.CopyTo(_data.AsSpan(length));
            length += line.Length;
            lines++;
        }

        return _data.AsMemory(0, length);
    }

    private void Compact()
    {
        if (_start > 0)
        {
            var kept = _end - _start;
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, kept);
            _scan -= _start;
            _end = kept;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, maxEventBytes + 1));
            Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
    }
}
