using System.Collections.Concurrent;
using ControlPlane.Grains.Grpc.Wire;
using ControlPlane.Grains.Placement;
using ControlPlane.Grains.Transport;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using Google.Protobuf;

namespace ControlPlane.Grains.Grpc;

/// <summary>The client half: sends grain calls to other silos over one <see cref="GrpcChannel"/> per silo address.
/// At most once: a call is retried only when the callee proved it did not run it (a <c>rejected</c> answer, a refused
/// connection or stream), at most <see cref="GrpcGrainTransportOptions.MaxRedirects"/> times.</summary>
internal sealed class GrpcGrainCallTransport : IGrainCallTransport, IDisposable
{
    private readonly ConcurrentDictionary<string, SiloChannel> _channels = new(StringComparer.Ordinal);
    private readonly GrpcGrainTransportOptions _options;
    private readonly GrainRuntimeOptions _runtimeOptions;
    private readonly ISiloAddressResolver _addresses;
    private readonly GrainCallCodec _codec;
    private readonly Func<IGrainDirectory> _directory;
    private readonly Func<IGrainCallDispatcher> _dispatcher;
    private readonly TimeProvider _time;
    private readonly Func<string> _localSiloId;

    public GrpcGrainCallTransport(
        GrpcGrainTransportOptions options,
        GrainRuntimeOptions runtimeOptions,
        ISiloAddressResolver addresses,
        GrainCallCodec codec,
        Func<IGrainDirectory> directory,
        Func<IGrainCallDispatcher> dispatcher,
        TimeProvider time,
        Func<string>? localSiloId = null)
    {
        _localSiloId = localSiloId ?? (() => runtimeOptions.SiloId);
        _options = options;
        _runtimeOptions = runtimeOptions;
        _addresses = addresses;
        _codec = codec;
        _directory = directory;
        _dispatcher = dispatcher;
        _time = time;
    }

    public async Task<object?> SendAsync(GrainLocation destination, GrainCallMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(message);
        var request = new InvokeRequest
        {
            GrainType = message.Target.Type,
            GrainKey = message.Target.Key,
            MethodId = message.Method.Id,
            CallId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()),
            Chain = GrainTransportService.WriteChain(message.Chain),
            SourceSilo = _localSiloId(),
        };
        _codec.WriteArguments(message.Method, message.Arguments, request.Arguments);

        // One deadline for the whole call, redirects included: each attempt carries the time that is left.
        DateTime? deadline = _runtimeOptions.CallTimeout == Timeout.InfiniteTimeSpan
            ? null
            : (_time.GetUtcNow() + _runtimeOptions.CallTimeout).UtcDateTime;
        var location = destination;
        var pause = _options.RetryDelay;
        for (var redirects = 0; ; redirects++)
        {
            var (owner, detail) = location.IsLocal
                ? await TryLocalAsync(message)
                : await TryRemoteAsync(location, request, message, redirects, deadline, cancellationToken);
            if (detail is null)
            {
                return owner;
            }

            if (redirects >= _options.MaxRedirects)
            {
                throw new GrainException($"Call to {message.Method.Name} on grain {message.Target} was rejected before execution " +
                    $"{redirects + 1} times (last by silo {location.SiloId}: {detail}); giving up after {_options.MaxRedirects} redirects.");
            }

            if (owner is string named && !string.Equals(named, location.SiloId, StringComparison.Ordinal))
            {
                location = new GrainLocation(named, string.Equals(named, _localSiloId(), StringComparison.Ordinal));
            }
            else
            {
                // No better owner named: give membership and the directory a moment, then ask again.
                await Task.Delay(pause, _time, cancellationToken);
                pause = pause * 2 < _options.MaxRetryDelay ? pause * 2 : _options.MaxRetryDelay;
                location = await _directory().LocateAsync(message.Target, cancellationToken);
            }
        }
    }

    /// <summary>One attempt; returns (result, null) on success or (owner if named, why) when rejected before execution.</summary>
    private async Task<(object? ResultOrOwner, string? Rejection)> TryRemoteAsync(
        GrainLocation location, InvokeRequest request, GrainCallMessage message, int redirects, DateTime? deadline, CancellationToken cancellationToken)
    {
        var channel = await ChannelForAsync(location.SiloId, cancellationToken);
        if (channel is null)
        {
            return (null, $"silo {location.SiloId} is not a live member");
        }

        request.HopCount = (uint)redirects;
        InvokeResponse reply;
        try
        {
            reply = await channel.Invoker.UnaryAsync(GrainTransportService.InvokeMethod, request, new CallOptions(deadline: deadline, cancellationToken: cancellationToken));
        }
        catch (RpcException error) when (NeverReachedHandler(error))
        {
            return (null, error.Status.Detail);
        }
        catch (RpcException error) when (error.StatusCode == StatusCode.DeadlineExceeded)
        {
            throw new GrainCallTimeoutException(message.Target, message.Method.Name, _runtimeOptions.CallTimeout);
        }
        catch (RpcException error)
        {
            throw new GrainException($"Call to {message.Method.Name} on grain {message.Target} via silo {location.SiloId} failed " +
                $"({error.StatusCode}: {error.Status.Detail}); it may or may not have run.", error);
        }

        return reply.OutcomeCase switch
        {
            InvokeResponse.OutcomeOneofCase.Result => (_codec.ReadResult(message.Method, reply.Result), null),
            InvokeResponse.OutcomeOneofCase.Rejected => (reply.Rejected.OwnerSiloId.Length == 0 ? null : reply.Rejected.OwnerSiloId, reply.Rejected.Detail),
            InvokeResponse.OutcomeOneofCase.Failure => throw new RemoteGrainException(message.Target, location.SiloId, reply.Failure.ExceptionType, reply.Failure.Message),
            _ => throw new GrainException($"Silo {location.SiloId} answered a call to {message.Method.Name} with no outcome."),
        };
    }

    /// <summary>A redirect named this silo: run it here, under the same rules as a call that arrived remotely.</summary>
    private async Task<(object? ResultOrOwner, string? Rejection)> TryLocalAsync(GrainCallMessage message)
    {
        try
        {
            return (await _dispatcher().DispatchAsync(message with { FromRemoteSilo = true }), null);
        }
        catch (GrainCallRejectedException rejected) when (rejected.GrainId == message.Target)
        {
            return (rejected.OwnerSiloId, rejected.Message);
        }
        catch (GrainException refused) when (refused.GrainId == message.Target && refused is GrainSiloStoppingException or GrainSiloNotServingException)
        {
            return (null, refused.Message);
        }
    }

    // Connection refused, or the server refused the stream (HTTP/2 REFUSED_STREAM: "not processed"): the
    // request never reached a handler, so resending cannot run it twice.
    private static bool NeverReachedHandler(RpcException error) =>
        error.StatusCode == StatusCode.Unavailable
        && (error.Status.Detail.Contains("Connection refused", StringComparison.OrdinalIgnoreCase)
            || error.Status.Detail.Contains("refused the stream", StringComparison.Ordinal));

    private async ValueTask<SiloChannel?> ChannelForAsync(string siloId, CancellationToken cancellationToken)
    {
        var address = await _addresses.ResolveAsync(siloId, cancellationToken);
        if (address is null)
        {
            return null;
        }

        if (_channels.TryGetValue(siloId, out var existing) && existing.Address == address)
        {
            return existing;
        }

        // A silo id that comes back on another address (restart) gets a fresh channel; the old one is closed.
        var created = new SiloChannel(address, GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            ConnectTimeout = _options.ConnectTimeout,
            TimeProvider = _time,
        }));
        var winner = _channels.AddOrUpdate(siloId, created, (_, old) =>
        {
            if (old.Address == address)
            {
                return old;
            }

            old.Channel.Dispose();
            return created;
        });
        if (!ReferenceEquals(winner, created))
        {
            created.Channel.Dispose();
        }

        return winner;
    }

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Channel.Dispose();
        }

        _channels.Clear();
    }

    private sealed class SiloChannel(Uri address, GrpcChannel channel)
    {
        public Uri Address { get; } = address;

        public GrpcChannel Channel { get; } = channel;

        public CallInvoker Invoker { get; } = channel.CreateCallInvoker();
    }
}
