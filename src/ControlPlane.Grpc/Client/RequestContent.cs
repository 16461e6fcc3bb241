using System.Net;

namespace ControlPlane.Grpc.Client;

/// <summary>The body of a call with one request message: a single pre-framed buffer.</summary>
internal sealed class UnaryRequestContent(byte[] frame) : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        stream.WriteAsync(frame).AsTask();

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        stream.WriteAsync(frame, cancellationToken).AsTask();

    protected override bool TryComputeLength(out long length)
    {
        length = frame.Length;
        return true;
    }
}

/// <summary>The body of a call with a request stream. HttpClient hands us the HTTP/2 request stream and
/// keeps the stream open until <see cref="Complete"/>; the call writes frames into it as the caller pushes
/// messages (duplex: the response is read at the same time).</summary>
internal sealed class StreamingRequestContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with the request stream once HttpClient starts sending the body; cancelled
    /// when the call ends first.</summary>
    public Task<Stream> RequestStream => _stream.Task;

    /// <summary>Ends the request body (END_STREAM).</summary>
    public void Complete() => _done.TrySetResult();

    /// <summary>Ends the body because the call is over; pending writers see a cancelled stream.</summary>
    public void Abort()
    {
        _stream.TrySetCanceled();
        _done.TrySetResult();
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        _stream.TrySetResult(stream);
        return _done.Task;
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Abort();
        }

        base.Dispose(disposing);
    }
}
