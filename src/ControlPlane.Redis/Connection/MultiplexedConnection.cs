using System.Collections.Concurrent;
using System.Threading.Channels;
using ControlPlane.Redis.Protocol;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Redis.Connection;

/// <summary>The multiplexer: callers drop commands into an outbox; one writer drains it onto the
/// socket, flushing once per burst; one reader matches replies to commands in FIFO order.</summary>
internal sealed class MultiplexedConnection : IRedisConnection
{
    // Flush inside a burst once this much is buffered, so a flood of commands starts moving early.
    internal const int MaxUnflushedBytes = 256 * 1024;

    private readonly RedisOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConnectionSupervisor _supervisor;
    private readonly Channel<PendingCommand> _outbox =
        Channel.CreateUnbounded<PendingCommand>(new UnboundedChannelOptions { SingleReader = true });

    public MultiplexedConnection(RedisOptions options, TimeProvider time, ILogger logger, Random random)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _supervisor = new ConnectionSupervisor(
            "command",
            options.Endpoint,
            ct => PhysicalConnection.OpenAsync(options, options.ClientName, selectDatabase: true, time, ct),
            static (_, _) => Task.CompletedTask,
            RunSessionAsync,
            new ReconnectBackoff(options.ReconnectMinDelay, options.ReconnectMaxDelay, random),
            time,
            logger)
        {
            Sender = this,
        };
    }

    public event EventHandler<RedisConnectionStateChangedEventArgs>? StateChanged
    {
        add => _supervisor.StateChanged += value;
        remove => _supervisor.StateChanged -= value;
    }

    public RedisConnectionState State => _supervisor.State;

    internal Task FirstConnection => _supervisor.FirstConnection;

    internal void Start() => _supervisor.Start();

    public Task<RespValue> ExecuteAsync(string command, IReadOnlyList<RedisArgument> arguments, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        ArgumentNullException.ThrowIfNull(arguments);
        MultiplexingRules.EnsureAllowed(command, arguments);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<RespValue>(cancellationToken);
        }

        var state = _supervisor.State;
        if (state == RedisConnectionState.Disposed)
        {
            return Task.FromException<RespValue>(new ObjectDisposedException(nameof(IRedisConnection)));
        }

        if (state != RedisConnectionState.Connected && !_options.QueueWhileDisconnected)
        {
            return Task.FromException<RespValue>(new RedisConnectionException(
                $"Not connected to Redis at {_options.Endpoint}; {command} was not sent.", false, _supervisor.LastError));
        }

        // Copied so a caller reusing its list cannot change a command that is still queued.
        var pending = new PendingCommand(command, [.. arguments], _options.CommandTimeout);
        pending.Arm(_time, cancellationToken);
        if (!_outbox.Writer.TryWrite(pending))
        {
            pending.Fail(static (_, _) => new ObjectDisposedException(nameof(IRedisConnection)), 0);
        }

        return pending.Task;
    }

    public async Task<RespValue> EvaluateAsync(
        RedisScript script, IReadOnlyList<RedisArgument> keys, IReadOnlyList<RedisArgument> arguments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(script);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(arguments);
        try
        {
            return await ExecuteAsync("EVALSHA", RedisCommands.ScriptCall(script.Sha1, keys, arguments), cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Prefix == "NOSCRIPT")
        {
            // NOSCRIPT means the script did not run, so sending it again cannot run it twice.
            Log.ScriptNotCached(_logger, script.Sha1);
            return await ExecuteAsync("EVAL", RedisCommands.ScriptCall(script.Source, keys, arguments), cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _outbox.Writer.TryComplete();
        await _supervisor.DisposeAsync().ConfigureAwait(false);
        while (_outbox.Reader.TryRead(out var pending))
        {
            pending.Fail(static (_, _) => new RedisConnectionException("The Redis connection was disposed; the command was not sent."), 0);
        }
    }

    private async Task<Exception?> RunSessionAsync(PhysicalConnection connection)
    {
        var inFlight = new ConcurrentQueue<PendingCommand>();
        using var stopWriter = new CancellationTokenSource();
        var reader = ReadRepliesAsync(connection, inFlight);
        var writer = WriteCommandsAsync(connection, inFlight, stopWriter.Token);
        var first = await Task.WhenAny(reader, writer).ConfigureAwait(false);

        await stopWriter.CancelAsync().ConfigureAwait(false);
        connection.Abort();
        var cause = first.Exception?.InnerException;
        try
        {
            await Task.WhenAll(reader, writer).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The first failure is the cause; the other loop's error is its consequence.
        catch (Exception)
#pragma warning restore CA1031
        {
            cause ??= reader.Exception?.InnerException ?? (writer.IsCanceled ? null : writer.Exception?.InnerException);
        }

        cause ??= new RedisConnectionException($"Redis at {_options.Endpoint} closed the connection.");

        // Sent commands may have executed: fail them, never replay them (at-most-once).
        while (inFlight.TryDequeue(out var pending))
        {
            pending.Fail(static (sent, cause) => ConnectionLost(sent, cause), cause);
        }

        return cause;
    }

    private static Exception ConnectionLost(bool sent, Exception cause)
    {
        var outcome = sent ? "it was sent and may have executed" : "it was not sent";
        return cause is RedisProtocolException
            ? new RedisProtocolException($"{cause.Message} The command failed; {outcome}.", sent, cause)
            : new RedisConnectionException($"The Redis connection was lost ({cause.Message}); {outcome}.", sent, cause);
    }

    private async Task WriteCommandsAsync(PhysicalConnection connection, ConcurrentQueue<PendingCommand> inFlight, CancellationToken cancellationToken)
    {
        var output = connection.Output;
        var outbox = _outbox.Reader;
        while (await outbox.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (!cancellationToken.IsCancellationRequested && outbox.TryRead(out var pending))
            {
                if (!pending.TryMarkSent())
                {
                    continue;
                }

                // Registered before its bytes leave, so its reply always finds it.
                inFlight.Enqueue(pending);
                RespCommandWriter.Write(output, pending.Command, pending.Arguments);
                if (output.UnflushedBytes >= MaxUnflushedBytes && !await FlushAsync(output, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }

            if (!await FlushAsync(output, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    private static async ValueTask<bool> FlushAsync(System.IO.Pipelines.PipeWriter output, CancellationToken cancellationToken)
    {
        var result = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return !result.IsCompleted && !result.IsCanceled;
    }

    private static Task ReadRepliesAsync(PhysicalConnection connection, ConcurrentQueue<PendingCommand> inFlight) =>
        RespParser.ReadAllAsync(connection.Input, reply =>
        {
            if (!inFlight.TryDequeue(out var pending))
            {
                throw new RedisProtocolException($"Protocol violation: received a reply ({reply}) with no command waiting for it.");
            }

            pending.SetReply(reply);
        });
}
