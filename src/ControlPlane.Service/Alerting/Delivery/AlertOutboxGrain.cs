using ControlPlane.Fleet;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Grains;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Alerting.Delivery;

/// <summary>A team's outbox (see <see cref="IAlertOutboxGrain"/>). Every turn is short: a tick picks the deliveries
/// that are due (per receiver and key only the oldest queued one, so a resolved notice never overtakes its firing one)
/// and sends them on the thread pool; the results come back as a <see cref="CompleteAsync"/> call. A slow or dead
/// receiver therefore never holds up <see cref="EnqueueAsync"/> (and so never the grain publishing the alert), nor the
/// team's other receivers, nor other teams (each team is its own grain). Delivery is at least once: an attempt
/// whose result was lost to a deactivation is made again; receivers deduplicate on the key and sequence.</summary>
[GrainType("alert-outbox")]
internal sealed partial class AlertOutboxGrain(
    [PersistentState("outbox", GrainStorage.Name)] IPersistentState<AlertOutboxState> state,
    FleetCatalog catalog, AlertSender sender, AlertDeliveryMetrics metrics, IOptions<AlertDeliveryOptions> options,
    TimeProvider time, ILogger<AlertOutboxGrain> logger)
    : Grain, IAlertOutboxGrain
{
    /// <summary>Alert keys whose last accepted sequence is remembered (the oldest accepted is forgotten first).</summary>
    internal const int MaxAcceptedKeys = 4_096;

    /// <summary>Given-up deliveries kept for the deliveries view.</summary>
    internal const int FailuresKept = 50;

    /// <summary>Most deliveries one receiver is sent per tick.</summary>
    internal const int MaxPerReceiverPerTick = 20;

    private const int MaxReasonLength = 500;

    private readonly AlertDeliveryOptions _options = options.Value;
    private readonly HashSet<long> _inFlight = [];
    private readonly HashSet<string> _busyReceivers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private IGrainTimer? _timer;

    private AlertOutboxState State => state.State;

    private string Team => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        EnsureTimer();
        return Task.CompletedTask;
    }

    // Sends still running are cancelled (not disposed: they may still read the token); their deliveries stay queued.
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => _stopping.CancelAsync();

    public async Task<int> EnqueueAsync(AlertNotice notice)
    {
        ArgumentNullException.ThrowIfNull(notice);
        if (notice.State == AlertState.Pending
            || (State.Accepted.TryGetValue(notice.Key, out long accepted) && notice.Sequence <= accepted)
            || !catalog.Fleet.Alerting.TryGetTeam(Team, out var team))
        {
            return 0;
        }

        var now = time.GetUtcNow();
        int queued = 0;
        foreach (var receiver in team.Receivers)
        {
            if (AlertRouting.Accepts(receiver, notice) && ResolvedReceiver.TryResolve(receiver, out _) is not null)
            {
                Add(notice, receiver.Name, test: false, now);
                queued++;
            }
        }

        if (queued == 0)
        {
            return 0;
        }

        State.Accepted[notice.Key] = notice.Sequence;
        TrimAccepted();
        TrimQueue(now);
        await state.WriteOrReloadAsync(this);
        EnsureTimer();
        return queued;
    }

    public async Task<int> SendTestAsync(string principal, string reason)
    {
        ArgumentNullException.ThrowIfNull(principal);
        ArgumentNullException.ThrowIfNull(reason);
        if (!catalog.Fleet.Alerting.TryGetTeam(Team, out var team))
        {
            throw new AdminException(AdminErrorKind.NotFound, "team", $"team '{Team}' has no entry in the fleet file's teams:");
        }

        var now = time.GetUtcNow();
        long sequence = State.LastTestSequence + 1;
        string summary = $"Test notice for team {Team} sent by {principal}: {(reason.Length > MaxReasonLength ? reason[..MaxReasonLength] : reason)}";
        var notice = new AlertNotice(AlertNotice.KeyOf("test", AlertTargetKind.WorkloadClass, Team), "test", AlertKind.Tactical,
            Domain.Slo.AlertSeverity.Ticket, AlertState.Firing, AlertTargetKind.WorkloadClass, Team, [], Team, team.OnCall,
            catalog.Fleet.Alerting.RunbookFor("test"), summary, 0, 0, TimeSpan.Zero, now, now, sequence);
        int queued = 0;
        foreach (var receiver in team.Receivers)
        {
            if (ResolvedReceiver.TryResolve(receiver, out _) is not null)
            {
                Add(notice, receiver.Name, test: true, now);
                queued++;
            }
        }

        if (queued == 0)
        {
            throw new AdminException(AdminErrorKind.Conflict, "team", $"team '{Team}' has no enabled receivers (check their url_env/routing_key_env variables)");
        }

        State.LastTestSequence = sequence;
        TrimQueue(now);
        await state.WriteOrReloadAsync(this);
        EnsureTimer();
        return queued;
    }

    public Task ResumeAsync()
    {
        EnsureTimer();
        return Task.CompletedTask;
    }

    public async Task CompleteAsync(string receiver, IReadOnlyList<long> released, IReadOnlyList<AlertAttemptReport> attempts)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        ArgumentNullException.ThrowIfNull(released);
        ArgumentNullException.ThrowIfNull(attempts);
        _busyReceivers.Remove(receiver);
        foreach (long id in released)
        {
            _inFlight.Remove(id);
        }

        var now = time.GetUtcNow();
        bool changed = false;
        foreach (var attempt in attempts)
        {
            int index = State.Queue.FindIndex(d => d.Id == attempt.Id);
            if (index < 0)
            {
                continue;
            }

            changed = true;
            var delivery = State.Queue[index];
            var counts = Counts(delivery.Receiver);
            var type = TypeOf(delivery.Receiver);
            if (attempt.Delivered)
            {
                State.Queue.RemoveAt(index);
                counts.Delivered++;
                counts.LastDeliveredAt = now;
                metrics.Count(type, AlertDeliveryResult.Delivered);
                continue;
            }

            delivery.Attempts++;
            delivery.LastError = attempt.Error ?? "failed";
            counts.LastError = delivery.LastError;
            counts.LastErrorAt = now;
            if (!attempt.Retryable || now - delivery.QueuedAt >= _options.MaxAge)
            {
                GiveUp(index, now, attempt.Retryable ? $"gave up after {delivery.Attempts} attempts: {delivery.LastError}" : delivery.LastError);
                continue;
            }

            var wait = _options.Backoff(delivery.Attempts, Random.Shared.NextDouble());
            if (attempt.RetryAfter is { } retryAfter && retryAfter > wait)
            {
                wait = retryAfter < _options.MaxDelay ? retryAfter : _options.MaxDelay;
            }

            var next = now + wait;
            var last = delivery.QueuedAt + _options.MaxAge;
            delivery.NextAttemptAt = next < last ? next : last;
            counts.Retried++;
            metrics.Count(type, AlertDeliveryResult.Retried);
            LogRetry(logger, Team, delivery.Receiver, delivery.Notice.Key, delivery.Attempts, delivery.LastError, wait);
        }

        if (changed)
        {
            await state.WriteOrReloadAsync(this);
        }
    }

    public Task<TeamDeliveriesView> GetDeliveriesAsync()
    {
        var receivers = new List<ReceiverDeliveriesView>();
        var named = new HashSet<string>(StringComparer.Ordinal);
        if (catalog.Fleet.Alerting.TryGetTeam(Team, out var team))
        {
            foreach (var receiver in team.Receivers)
            {
                named.Add(receiver.Name);
                bool enabled = ResolvedReceiver.TryResolve(receiver, out string? problem) is not null;
                receivers.Add(View(receiver.Name, receiver.TypeName, enabled, enabled ? null : problem));
            }
        }

        foreach (string name in State.Receivers.Keys)
        {
            if (!named.Contains(name))
            {
                receivers.Add(View(name, "removed", false, null));
            }
        }

        long delivered = 0, failed = 0;
        string? lastError = null;
        DateTimeOffset? lastErrorAt = null, lastDeliveredAt = null;
        foreach (var counts in State.Receivers.Values)
        {
            delivered += counts.Delivered;
            failed += counts.Failed;
            if (counts.LastErrorAt is { } at && (lastErrorAt is null || at > lastErrorAt))
            {
                (lastError, lastErrorAt) = (counts.LastError, at);
            }

            if (counts.LastDeliveredAt is { } d && (lastDeliveredAt is null || d > lastDeliveredAt))
            {
                lastDeliveredAt = d;
            }
        }

        return Task.FromResult(new TeamDeliveriesView(Team, State.Queue.Count, delivered, failed, lastError, lastErrorAt, lastDeliveredAt,
            receivers, [.. State.Failures]));
    }

    private ReceiverDeliveriesView View(string name, string type, bool enabled, string? problem)
    {
        State.Receivers.TryGetValue(name, out var counts);
        int queued = State.Queue.Count(d => d.Receiver == name);
        return new ReceiverDeliveriesView(name, type, enabled, queued, counts?.Delivered ?? 0, counts?.Failed ?? 0, counts?.Retried ?? 0,
            problem ?? counts?.LastError, counts?.LastErrorAt);
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        if (State.Queue.Count == 0)
        {
            _timer?.Dispose();
            _timer = null;
            return;
        }

        var now = time.GetUtcNow();
        var alerting = catalog.Fleet.Alerting;
        alerting.TryGetTeam(Team, out var team);
        var heads = new HashSet<(string Receiver, string Key)>();
        var batches = new Dictionary<string, (ResolvedReceiver Receiver, List<(long Id, byte[] Payload)> Items)>(StringComparer.Ordinal);
        var unusable = new List<(long Id, string Error)>();
        foreach (var delivery in State.Queue)
        {
            // Only the oldest queued delivery of a key goes to a receiver: a later state never overtakes an earlier one.
            if (!heads.Add((delivery.Receiver, delivery.Notice.Key)) || _inFlight.Contains(delivery.Id)
                || _busyReceivers.Contains(delivery.Receiver) || delivery.NextAttemptAt > now)
            {
                continue;
            }

            var definition = team is null ? null : FindReceiver(team, delivery.Receiver);
            if (definition is null)
            {
                unusable.Add((delivery.Id, "the receiver is no longer in the fleet file"));
                continue;
            }

            if (!batches.TryGetValue(delivery.Receiver, out var batch))
            {
                if (ResolvedReceiver.TryResolve(definition, out string? problem) is not { } resolved)
                {
                    unusable.Add((delivery.Id, $"receiver disabled: {problem}"));
                    continue;
                }

                batch = (resolved, []);
                batches.Add(delivery.Receiver, batch);
            }

            if (batch.Items.Count >= MaxPerReceiverPerTick)
            {
                continue;
            }

            var context = new AlertPayloadContext(delivery.Notice, Team, delivery.Receiver, AlertRouting.RunbookFor(delivery.Notice, alerting), delivery.Test);
            batch.Items.Add((delivery.Id, AlertPayloads.Build(definition.Type, context, batch.Receiver.RoutingKey)));
        }

        var self = this.AsReference<IAlertOutboxGrain>();
        var stopping = _stopping.Token;
        foreach (var (name, batch) in batches)
        {
            _busyReceivers.Add(name);
            foreach (var (id, _) in batch.Items)
            {
                _inFlight.Add(id);
            }

            // Off the grain's turn: the grain keeps taking notices while receivers answer (or do not).
            _ = Task.Run(() => SendAsync(self, name, batch.Receiver, batch.Items, stopping), CancellationToken.None);
        }

        if (unusable.Count > 0)
        {
            foreach (var (id, error) in unusable)
            {
                int index = State.Queue.FindIndex(d => d.Id == id);
                Counts(State.Queue[index].Receiver).LastError = error;
                Counts(State.Queue[index].Receiver).LastErrorAt = now;
                GiveUp(index, now, error);
            }

            await state.WriteOrReloadAsync(this);
        }
    }

    private async Task SendAsync(IAlertOutboxGrain self, string receiver, ResolvedReceiver resolved, List<(long Id, byte[] Payload)> items,
        CancellationToken stopping)
    {
        var reports = new List<AlertAttemptReport>(items.Count);
        try
        {
            foreach (var (id, payload) in items)
            {
                var outcome = await sender.SendAsync(resolved, payload, stopping);
                reports.Add(new AlertAttemptReport(id, outcome.Delivered, outcome.Retryable, outcome.Error, outcome.RetryAfter));
                if (!outcome.Delivered)
                {
                    // The receiver is failing: the rest of its batch waits for the next tick rather than for more timeouts.
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return;
        }
        catch (Exception error)
        {
            LogSendFailed(logger, error, Team, receiver);
        }

        try
        {
            await self.CompleteAsync(receiver, [.. items.Select(i => i.Id)], reports);
        }
        catch (Exception error)
        {
            // The outbox moved or stopped: the deliveries are still queued in storage and are attempted again.
            LogCompleteFailed(logger, error, Team, receiver);
        }
    }

    private void Add(AlertNotice notice, string receiver, bool test, DateTimeOffset now) =>
        State.Queue.Add(new QueuedAlertDelivery
        {
            Id = ++State.LastId,
            Notice = notice,
            Receiver = receiver,
            Test = test,
            QueuedAt = now,
            NextAttemptAt = now,
        });

    private void GiveUp(int index, DateTimeOffset now, string error)
    {
        var delivery = State.Queue[index];
        State.Queue.RemoveAt(index);
        Counts(delivery.Receiver).Failed++;
        metrics.Count(TypeOf(delivery.Receiver), AlertDeliveryResult.Failed);
        State.Failures.Add(new FailedAlertDelivery(delivery.Notice.Key, delivery.Notice.Sequence, delivery.Receiver, delivery.Attempts, error,
            delivery.QueuedAt, now));
        if (State.Failures.Count > FailuresKept)
        {
            State.Failures.RemoveRange(0, State.Failures.Count - FailuresKept);
        }

        LogGaveUp(logger, Team, delivery.Receiver, delivery.Notice.Key, delivery.Notice.Sequence, error);
    }

    // Full: the oldest deliveries not being sent are given up, so the newest states of every alert get through.
    private void TrimQueue(DateTimeOffset now)
    {
        for (int i = 0; State.Queue.Count > _options.MaxQueuedPerTeam && i < State.Queue.Count;)
        {
            if (_inFlight.Contains(State.Queue[i].Id))
            {
                i++;
                continue;
            }

            GiveUp(i, now, $"the team's outbox was full ({_options.MaxQueuedPerTeam} deliveries)");
        }
    }

    private void TrimAccepted()
    {
        if (State.Accepted.Count <= MaxAcceptedKeys)
        {
            return;
        }

        // Keys of notices still queued are kept; of the others, the lowest sequences go first.
        var queuedKeys = State.Queue.Select(d => d.Notice.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var key in State.Accepted.Where(e => !queuedKeys.Contains(e.Key)).OrderBy(e => e.Value)
                     .Take(State.Accepted.Count - MaxAcceptedKeys).Select(e => e.Key).ToList())
        {
            State.Accepted.Remove(key);
        }
    }

    private ReceiverDeliveryCounts Counts(string receiver)
    {
        if (!State.Receivers.TryGetValue(receiver, out var counts))
        {
            counts = new ReceiverDeliveryCounts();
            State.Receivers[receiver] = counts;
        }

        return counts;
    }

    private AlertReceiverType TypeOf(string receiver) =>
        catalog.Fleet.Alerting.TryGetTeam(Team, out var team) && FindReceiver(team, receiver) is { } definition ? definition.Type : AlertReceiverType.Webhook;

    private static AlertReceiverDefinition? FindReceiver(AlertTeam team, string name)
    {
        foreach (var receiver in team.Receivers)
        {
            if (receiver.Name == name)
            {
                return receiver;
            }
        }

        return null;
    }

    private void EnsureTimer()
    {
        if (_timer is null && State.Queue.Count > 0)
        {
            // KeepAlive: the outbox stays active while it has deliveries to make.
            _timer = this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions(TimeSpan.Zero, _options.PollInterval) { KeepAlive = true });
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert delivery to team {Team} receiver {Receiver} failed for {Key} (attempt {Attempts}: {Error}); retrying in {Wait}")]
    private static partial void LogRetry(ILogger logger, string team, string receiver, string key, int attempts, string error, TimeSpan wait);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert delivery to team {Team} receiver {Receiver} given up for {Key} #{Sequence}: {Error}")]
    private static partial void LogGaveUp(ILogger logger, string team, string receiver, string key, long sequence, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert sends of team {Team} to receiver {Receiver} failed unexpectedly")]
    private static partial void LogSendFailed(ILogger logger, Exception error, string team, string receiver);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert outbox of team {Team} could not record results for receiver {Receiver}; they are attempted again")]
    private static partial void LogCompleteFailed(ILogger logger, Exception error, string team, string receiver);
}
