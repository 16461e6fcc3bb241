using System.Buffers;

namespace ControlPlane.Proxy;

/// <summary>Holds a streamed half-open probe's events back from the caller (up to a byte limit), so that a probe that
/// fails mid-stream can still be retried on another endpoint: nothing of it has reached the caller. A probe is the
/// first traffic sent to an endpoint that was failing, the request most likely to be cut mid-answer. When the stream
/// ends well the events are written out at once; past the limit what is held is written out and the rest passes
/// through (a failure after that is final, as for any stream).</summary>
internal sealed class ProbeStreamBuffer(int limitBytes, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> caller)
{
    private readonly ArrayBufferWriter<byte> _held = new();

    /// <summary>True once events went to the caller (the limit was passed, or <see cref="ReleaseAsync"/> ran).</summary>
    public bool PassedThrough { get; private set; }

    /// <summary>Bytes held back so far.</summary>
    public int HeldBytes => _held.WrittenCount;

    /// <summary>The write callback given to the provider client in place of the caller's.</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> events, CancellationToken cancellationToken)
    {
        if (!PassedThrough && (long)_held.WrittenCount + events.Length <= limitBytes)
        {
            _held.Write(events.Span);
            return;
        }

        await ReleaseAsync(cancellationToken).ConfigureAwait(false);
        await caller(events, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes what is held to the caller (once); later writes pass through.</summary>
    public async ValueTask ReleaseAsync(CancellationToken cancellationToken)
    {
        if (PassedThrough)
        {
            return;
        }

        PassedThrough = true;
        if (_held.WrittenCount > 0)
        {
            await caller(_held.WrittenMemory, cancellationToken).ConfigureAwait(false);
            _held.Clear();
        }
    }
}
