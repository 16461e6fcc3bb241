using System.Text;
using ControlPlane.Contracts.V1;
using Google.Protobuf;
using Grpc.Core;

namespace ControlPlane.Server.Diagnostics;

/// <summary>The <c>controlplane.v1.Diagnostics</c> service: every call shape, with knobs to stall
/// (<c>delay_ms</c>), fail (<c>respond_with_status</c>) and echo metadata, for probes, interop
/// tests. Off by default (<c>--enable-diagnostics</c>); every size and wait a caller asks for is bounded.</summary>
[ControlPlane.Service.Security.RequireRoles(ControlPlane.Service.Security.Roles.DataPlane)]
internal sealed class DiagnosticsService(TimeProvider timeProvider) : ControlPlane.Contracts.V1.Diagnostics.DiagnosticsBase
{
    public const string ServiceName = "controlplane.v1.Diagnostics";

    /// <summary>Upper bound of <c>count</c> for EchoStream, so one request cannot pin the server.</summary>
    internal const int MaxStreamCount = 100_000;

    /// <summary>Upper bound of what Collect accumulates (messages and payloads), so one call cannot exhaust memory.</summary>
    internal const int MaxCollectBytes = 4 * 1024 * 1024;

    /// <summary>Upper bound of <c>delay_ms</c>.</summary>
    internal const int MaxDelayMs = 60_000;

    /// <summary>Delays, echoes metadata, then fails with the requested status or echoes the request.</summary>
    public override async Task<EchoResponse> Echo(EchoRequest request, ServerCallContext context)
    {
        await EchoMetadataAsync(request, context).ConfigureAwait(false);
        await DelayAsync(request, context).ConfigureAwait(false);
        ThrowRequestedStatus(request);
        return new EchoResponse { Message = request.Message, Payload = request.Payload, Sequence = 0, Count = 1 };
    }

    /// <summary>Sends <c>count</c> echoes (sequence 0..count-1), waiting <c>delay_ms</c> before each;
    /// then ends with the requested status, if any.</summary>
    public override async Task EchoStream(EchoRequest request, IServerStreamWriter<EchoResponse> responses, ServerCallContext context)
    {
        if (request.Count is < 0 or > MaxStreamCount)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"count must be between 0 and {MaxStreamCount} (was {request.Count})."));
        }

        await EchoMetadataAsync(request, context).ConfigureAwait(false);
        for (var i = 0; i < request.Count; i++)
        {
            await DelayAsync(request, context).ConfigureAwait(false);
            await responses.WriteAsync(
                new EchoResponse { Message = request.Message, Payload = request.Payload, Sequence = i, Count = request.Count }).ConfigureAwait(false);
        }

        ThrowRequestedStatus(request);
    }

    /// <summary>Reads every request, then answers once with the concatenated messages and payloads
    /// and the number of requests. The first request's knobs apply.</summary>
    public override async Task<EchoResponse> Collect(IAsyncStreamReader<EchoRequest> requests, ServerCallContext context)
    {
        var messages = new StringBuilder();
        using var payloads = new MemoryStream();
        EchoRequest? first = null;
        var count = 0;
        while (await requests.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            var request = requests.Current;
            first ??= request;
            count++;
            if ((long)messages.Length + payloads.Length + request.Message.Length + request.Payload.Length > MaxCollectBytes)
            {
                throw new RpcException(new Status(StatusCode.ResourceExhausted, $"Collect accumulates at most {MaxCollectBytes} bytes."));
            }

            messages.Append(request.Message);
            request.Payload.WriteTo(payloads);
        }

        if (first is not null)
        {
            await EchoMetadataAsync(first, context).ConfigureAwait(false);
            await DelayAsync(first, context).ConfigureAwait(false);
            ThrowRequestedStatus(first);
        }

        return new EchoResponse
        {
            Message = messages.ToString(),
            Payload = ByteString.CopyFrom(payloads.GetBuffer(), 0, (int)payloads.Length),
            Sequence = 0,
            Count = count,
        };
    }

    /// <summary>Answers each request as it arrives (sequence = its index). A request with
    /// <c>respond_with_status</c> ends the call with that status.</summary>
    public override async Task Chat(IAsyncStreamReader<EchoRequest> requests, IServerStreamWriter<EchoResponse> responses, ServerCallContext context)
    {
        var sequence = 0;
        while (await requests.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            var request = requests.Current;
            if (sequence == 0)
            {
                await EchoMetadataAsync(request, context).ConfigureAwait(false);
            }

            await DelayAsync(request, context).ConfigureAwait(false);
            ThrowRequestedStatus(request);
            await responses.WriteAsync(
                new EchoResponse { Message = request.Message, Payload = request.Payload, Sequence = sequence, Count = 1 }).ConfigureAwait(false);
            sequence++;
        }
    }

    private Task DelayAsync(EchoRequest request, ServerCallContext context)
    {
        if (request.DelayMs is < 0 or > MaxDelayMs)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"delay_ms must be between 0 and {MaxDelayMs} (was {request.DelayMs})."));
        }

        return request.DelayMs == 0
            ? Task.CompletedTask
            : Task.Delay(TimeSpan.FromMilliseconds(request.DelayMs), timeProvider, context.CancellationToken);
    }

    private static void ThrowRequestedStatus(EchoRequest request)
    {
        if (request.RespondWithStatus == 0)
        {
            return;
        }

        if (request.RespondWithStatus is < 1 or > 16)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"respond_with_status must be a gRPC status code 1-16 (was {request.RespondWithStatus})."));
        }

        throw new RpcException(new Status((StatusCode)request.RespondWithStatus, request.StatusMessage));
    }

    /// <summary>Copies the requested request-metadata entries into the response headers and trailers.</summary>
    private static Task EchoMetadataAsync(EchoRequest request, ServerCallContext context)
    {
        if (request.EchoMetadata.Count == 0)
        {
            return Task.CompletedTask;
        }

        var headers = new Metadata();
        foreach (var key in request.EchoMetadata)
        {
            if (key.Length == 0)
            {
                continue;
            }

            foreach (var entry in context.RequestHeaders)
            {
                if (string.Equals(entry.Key, key, StringComparison.OrdinalIgnoreCase))
                {
                    headers.Add(entry);
                    context.ResponseTrailers.Add(entry);
                }
            }
        }

        return headers.Count == 0 ? Task.CompletedTask : context.WriteResponseHeadersAsync(headers);
    }
}
