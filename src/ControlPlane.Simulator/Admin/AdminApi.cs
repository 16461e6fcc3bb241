using System.Net;
using System.Text.Json;
using ControlPlane.Simulator.Faults;
using ControlPlane.Simulator.Scenario;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Simulator.Admin;

/// <summary>
/// The simulator's admin API on a loopback port, no auth (<c>docs/simulator.md</c>): endpoints, stats, faults, clock.
/// Bad input gets 400 problem+json naming the field and changes nothing.
/// </summary>
internal static class AdminApi
{
    /// <summary>The largest admin request body.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>Starts the admin API; <paramref name="host"/> gives the simulator once it exists (503 before).</summary>
    public static async Task<(WebApplication App, Uri Uri)> StartAsync(int port, Func<SimulatorHost?> host, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxBodyBytes;
            kestrel.Listen(IPAddress.Loopback, port);
        });
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        var api = app.MapGroup("/sim/v1");
        api.MapGet("/endpoints", context => WithHost(context, host, h => WriteAsync(context, 200, w => Endpoints(w, h))));
        api.MapGet("/stats", context => WithHost(context, host, h => WriteAsync(context, 200, w => Stats(w, h))));
        api.MapGet("/faults", context => WithHost(context, host, h => WriteAsync(context, 200, w => Faults(w, h))));
        api.MapPost("/faults", context => WithHost(context, host, h => PostFaultAsync(context, h)));
        api.MapDelete("/faults", context => WithHost(context, host, async h =>
        {
            h.Faults.Clear();
            await h.ReconcileAsync(context.RequestAborted).ConfigureAwait(false);
            context.Response.StatusCode = StatusCodes.Status204NoContent;
        }));
        api.MapPost("/clock/start", context => WithHost(context, host, async h =>
        {
            await h.StartClockAsync(context.RequestAborted).ConfigureAwait(false);
            await WriteAsync(context, 200, w => Clock(w, h)).ConfigureAwait(false);
        }));
        api.MapGet("/clock", context => WithHost(context, host, h => WriteAsync(context, 200, w => Clock(w, h))));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(address));
    }

    private static Task WithHost(HttpContext context, Func<SimulatorHost?> host, Func<SimulatorHost, Task> handle) =>
        host() is { } simulator ? handle(simulator) : Problem(context, 503, "Starting", "The simulator is still starting.", null);

    private static async Task PostFaultAsync(HttpContext context, SimulatorHost host)
    {
        JsonDocument document;
        try
        {
            if (context.Request.ContentLength > MaxBodyBytes)
            {
                await Problem(context, 413, "Body too large", $"The body must be at most {MaxBodyBytes} bytes.", null).ConfigureAwait(false);
                return;
            }

            document = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 8 }, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            await Problem(context, 400, "Invalid JSON", "The body is not valid JSON: " + e.Message, null).ConfigureAwait(false);
            return;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await Problem(context, 413, "Body too large", $"The body must be at most {MaxBodyBytes} bytes.", null).ConfigureAwait(false);
            return;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                await Problem(context, 400, "Invalid fault", "The body must be a JSON object (one fault).", null).ConfigureAwait(false);
                return;
            }

            var fields = new Dictionary<string, RawField>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!FaultFields.Keys.Contains(property.Name, StringComparer.Ordinal))
                {
                    await Problem(context, 400, "Invalid fault", $"unknown field; expected one of {string.Join(", ", FaultFields.Keys)}", property.Name).ConfigureAwait(false);
                    return;
                }

                if (fields.ContainsKey(property.Name))
                {
                    await Problem(context, 400, "Invalid fault", "duplicate field", property.Name).ConfigureAwait(false);
                    return;
                }

                switch (property.Value.ValueKind)
                {
                    case JsonValueKind.String:
                        fields[property.Name] = new RawField(property.Value.GetString()!, true, 0, 0);
                        break;
                    case JsonValueKind.Number:
                        fields[property.Name] = new RawField(property.Value.GetRawText(), false, 0, 0);
                        break;
                    case JsonValueKind.Null:
                        break;
                    default:
                        await Problem(context, 400, "Invalid fault", "expected a string or a number", property.Name).ConfigureAwait(false);
                        return;
                }
            }

            var errors = new List<FieldError>();
            var spec = FaultFields.Parse(fields, host.EndpointsById.ContainsKey, errors, "", default);
            if (spec is null)
            {
                var first = errors[0];
                await Problem(context, 400, "Invalid fault", string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")), first.Field, errors).ConfigureAwait(false);
                return;
            }

            if (host.Faults.Add(spec) is not { } armed)
            {
                await Problem(context, 409, "Too many faults", $"At most {FaultBook.MaxFaults} faults; DELETE /sim/v1/faults first.", null).ConfigureAwait(false);
                return;
            }

            await host.ReconcileAsync(context.RequestAborted).ConfigureAwait(false);
            var now = host.Time.GetUtcNow();
            await WriteAsync(context, 201, w => Fault(w, armed, now)).ConfigureAwait(false);
        }
    }

    private static void Endpoints(Utf8JsonWriter w, SimulatorHost host)
    {
        var now = host.Time.GetUtcNow();
        w.WriteStartObject();
        w.WriteStartArray("endpoints");
        foreach (var endpoint in host.Endpoints)
        {
            var descriptor = endpoint.Entry.Descriptor;
            w.WriteStartObject();
            w.WriteString("id", endpoint.Id);
            w.WriteString("url", endpoint.Url.ToString().TrimEnd('/'));
            w.WriteString("api", endpoint.Api);
            w.WriteString("provider", descriptor.Provider);
            w.WriteString("model", descriptor.Model);
            w.WriteString("model_version", descriptor.ModelVersion);
            w.WriteBoolean("listening", endpoint.IsListening);
            w.WriteStartObject("latency");
            w.WriteNumber("ttft_ms", endpoint.Latency.TtftMedianMs);
            w.WriteNumber("tokens_per_s", endpoint.Latency.TokensPerSecond);
            w.WriteEndObject();
            w.WriteStartArray("active_faults");
            foreach (var fault in host.Faults.ActiveOn(endpoint.Id, now))
            {
                Fault(w, fault, now);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Stats(Utf8JsonWriter w, SimulatorHost host)
    {
        w.WriteStartObject();
        w.WriteStartObject("endpoints");
        foreach (var endpoint in host.Endpoints)
        {
            var stats = endpoint.Stats.Snapshot();
            w.WriteStartObject(endpoint.Id);
            w.WriteNumber("requests", stats.Requests);
            w.WriteStartObject("by_status");
            foreach (var (status, count) in stats.ByStatus)
            {
                w.WriteNumber(status, count);
            }

            w.WriteEndObject();
            w.WriteNumber("during_fault", stats.DuringFault);
            w.WriteNumber("input_tokens", stats.InputTokens);
            w.WriteNumber("output_tokens", stats.OutputTokens);
            w.WriteNumber("refusals", stats.Refusals);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Faults(Utf8JsonWriter w, SimulatorHost host)
    {
        var now = host.Time.GetUtcNow();
        w.WriteStartObject();
        WriteClockFields(w, host, now);
        w.WriteStartArray("faults");
        foreach (var fault in host.Faults.All)
        {
            Fault(w, fault, now);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Clock(Utf8JsonWriter w, SimulatorHost host)
    {
        w.WriteStartObject();
        WriteClockFields(w, host, host.Time.GetUtcNow());
        w.WriteEndObject();
    }

    private static void WriteClockFields(Utf8JsonWriter w, SimulatorHost host, DateTimeOffset now)
    {
        w.WriteString("now", now);
        if (host.Faults.ClockStartedAt is { } started)
        {
            w.WriteString("clock_started_at", started);
            w.WriteNumber("clock_elapsed_s", Math.Round((now - started).TotalSeconds, 3));
        }
        else
        {
            w.WriteNull("clock_started_at");
            w.WriteNull("clock_elapsed_s");
        }
    }

    private static void Fault(Utf8JsonWriter w, ArmedFault fault, DateTimeOffset now)
    {
        var spec = fault.Spec;
        w.WriteStartObject();
        w.WriteString("id", fault.Id);
        w.WriteString("endpoint", spec.Endpoint);
        w.WriteString("kind", FaultFields.Name(spec.Kind));
        w.WriteString("state", fault.State(now));
        w.WriteBoolean("from_scenario", fault.FromScenario);
        w.WriteString("starts_at", fault.StartsAt);
        if (fault.EndsAt is { } end)
        {
            w.WriteString("ends_at", end);
        }
        else
        {
            w.WriteNull("ends_at");
        }

        w.WriteNumber("share", spec.Share);
        switch (spec.Kind)
        {
            case FaultKind.Outage:
                w.WriteString("mode", FaultFields.Name(spec.Mode));
                break;
            case FaultKind.RateLimit:
                w.WriteString("retry_after", FaultFields.Format(spec.RetryAfter));
                if (spec.Tpm is { } tpm)
                {
                    w.WriteNumber("tpm", tpm);
                }

                break;
            case FaultKind.Latency:
                w.WriteNumber("factor", spec.Factor);
                break;
            case FaultKind.ModelChange:
                w.WriteString("model_version", spec.ModelVersion);
                break;
            case FaultKind.RunawayOutput:
                w.WriteNumber("output_factor", spec.OutputFactor);
                break;
        }

        w.WriteEndObject();
    }

    private static async Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer);
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task Problem(HttpContext context, int status, string title, string detail, string? field, IReadOnlyList<FieldError>? errors = null)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("type", "about:blank");
            w.WriteString("title", title);
            w.WriteNumber("status", status);
            w.WriteString("detail", field is null || errors is not null ? detail : $"{field}: {detail}");
            if (field is not null)
            {
                w.WriteStartObject("errors");
                foreach (var group in (errors ?? [new FieldError(field, detail, 0, 0)]).GroupBy(e => e.Field, StringComparer.Ordinal))
                {
                    w.WriteStartArray(group.Key);
                    foreach (var error in group)
                    {
                        w.WriteStringValue(error.Message);
                    }

                    w.WriteEndArray();
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/problem+json";
        await context.Response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted).ConfigureAwait(false);
    }
}
