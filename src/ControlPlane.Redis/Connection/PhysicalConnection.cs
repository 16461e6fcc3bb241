using System.IO.Pipelines;
using System.Net.Sockets;
using ControlPlane.Redis.Protocol;

namespace ControlPlane.Redis.Connection;

/// <summary>One TCP socket to Redis with its pipes, opened and authenticated (AUTH, SELECT,
/// CLIENT SETNAME) before anyone else may use it.</summary>
internal sealed class PhysicalConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private PhysicalConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        Input = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4096));
        Output = PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: 64 * 1024));
    }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    public static async Task<PhysicalConnection> OpenAsync(
        RedisOptions options, string? clientName, bool selectDatabase, TimeProvider time, CancellationToken cancellationToken)
    {
        var (host, port) = options.ParsedEndpoint();
        using var timeout = new CancellationTokenSource(options.ConnectTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        PhysicalConnection? connection = null;
        try
        {
            await socket.ConnectAsync(host, port, linked.Token).ConfigureAwait(false);
            connection = new PhysicalConnection(socket);
            await connection.HandshakeAsync(options, clientName, selectDatabase, linked.Token).ConfigureAwait(false);
            return connection;
        }
        catch (Exception ex)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                socket.Dispose();
            }

            throw ex switch
            {
                OperationCanceledException when timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested =>
                    new RedisConnectionException($"Connecting to Redis at {options.Endpoint} timed out after {options.ConnectTimeout.TotalMilliseconds} ms.", false, ex),
                RedisServerException server =>
                    new RedisConnectionException($"Redis at {options.Endpoint} refused the connection handshake: {server.Message}", false, server),
                SocketException or IOException =>
                    new RedisConnectionException($"Connecting to Redis at {options.Endpoint} failed: {ex.Message}", false, ex),
                _ => ex,
            };
        }
    }

    /// <summary>Tears the socket down at once; pending reads and flushes end.</summary>
    public void Abort()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed: nothing left to shut down.
        }

        _socket.Dispose();
        Input.CancelPendingRead();
        Output.CancelPendingFlush();
    }

    public async ValueTask DisposeAsync()
    {
        Abort();
        try
        {
            await Input.CompleteAsync().ConfigureAwait(false);

            // Completing the writer flushes what is still buffered, into a socket that is already gone.
            await Output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or IOException or SocketException or InvalidOperationException)
        {
            // The socket is closed either way; nothing buffered could have been delivered.
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
    }

    private async Task HandshakeAsync(RedisOptions options, string? clientName, bool selectDatabase, CancellationToken cancellationToken)
    {
        var commands = new List<(string Command, RedisArgument[] Arguments)>();
        if (options.Password is { } password)
        {
            commands.Add(("AUTH", options.User is { } user ? [user, password] : [password]));
        }

        if (selectDatabase && options.Database != 0)
        {
            commands.Add(("SELECT", [options.Database]));
        }

        if (clientName is not null)
        {
            commands.Add(("CLIENT", ["SETNAME", clientName]));
        }

        if (commands.Count == 0)
        {
            return;
        }

        foreach (var (command, arguments) in commands)
        {
            RespCommandWriter.Write(Output, command, arguments);
        }

        await Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (command, _) in commands)
        {
            var reply = await ReadReplyAsync(cancellationToken).ConfigureAwait(false);
            if (reply.IsError)
            {
                throw new RedisServerException(reply.AsString() ?? command);
            }
        }
    }

    private async Task<RespValue> ReadReplyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await Input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (RespParser.TryParse(ref buffer, out var reply))
            {
                Input.AdvanceTo(buffer.Start);
                return reply;
            }

            Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                throw new RedisConnectionException("The server closed the connection during the handshake.");
            }
        }
    }
}
