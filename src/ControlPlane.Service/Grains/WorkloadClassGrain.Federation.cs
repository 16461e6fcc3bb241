using ControlPlane.Contracts.V1;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Federation;
using ControlPlane.Service.Governance;
using ControlPlane.Service.Security;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Grains;

/// <summary>Federation of class policy (<c>docs/regions.md</c>). The fleet's <c>policy_home</c> region is authoritative.
/// In any other region a policy change (an approved proposal, a break-glass set or cleared) is applied here at once,
/// written with its place in an ordered outbox, and sent to the policy home (now, then every second while the outbox is
/// not empty) until acknowledged; the policy home applies each sequence once, in order, audited with the origin region,
/// and publishes its state on the change feed, which every other region adopts (a newer home version only, never back;
/// while changes made here are pending, the adopted state waits and applies when the outbox drains).</summary>
internal sealed partial class WorkloadClassGrain : IClassFederationGrain
{
    private static readonly TimeSpan ClassForwardDeadline = TimeSpan.FromSeconds(2);
    private FederationOptions? _federationOptions;
    private IGrainTimer? _classOutboxTimer;

    private FederationOptions FederationSettings =>
        _federationOptions ??= ServiceProvider.GetService<IOptions<FederationOptions>>()?.Value ?? new FederationOptions();

    /// <summary>True when federation is on and this region is not the policy home.</summary>
    private bool IsPolicyFollower => FederationSettings is { Region: { } region, PolicyHome: { } home } && !string.Equals(region, home, StringComparison.Ordinal);

    private bool IsPolicyHome => FederationSettings is { Region: { } region, PolicyHome: { } home } && string.Equals(region, home, StringComparison.Ordinal);

    public Task<FollowedClass> GetFederatedStateAsync() => Task.FromResult(FederatedState());

    public Task<long> GetFollowedClassVersionAsync() => Task.FromResult(State.FollowedClass?.HomeVersion ?? 0);

    public Task<ClassFederationStatus?> GetClassFederationAsync() => Task.FromResult(ClassFederation());

    private ClassFederationStatus? ClassFederation() => FederationSettings is { Region: not null, PolicyHome: { } home }
        ? new ClassFederationStatus(home, IsPolicyFollower, State.ClassOutbox?.Count ?? 0, State.FollowedClass?.HomeVersion ?? 0)
        : null;

    public async Task<bool> AdoptHomeClassAsync(FollowedClass followed)
    {
        ArgumentNullException.ThrowIfNull(followed);
        if (!IsPolicyFollower || (State.FollowedClass is { } held && followed.HomeVersion <= held.HomeVersion))
        {
            return false;
        }

        State.FollowedClass = followed;
        if (State.ClassOutbox is { Count: > 0 })
        {
            // Changes made here wait for the policy home: the adopted state applies when they are acknowledged.
            await PersistAsync();
            return true;
        }

        await ApplyFollowedAsync(followed);
        return true;
    }

    public async Task<FollowedClass> ApplyForwardedClassChangeAsync(ForwardedClassChange forwarded)
    {
        ArgumentNullException.ThrowIfNull(forwarded);
        if (!IsPolicyHome)
        {
            throw new AdminException(AdminErrorKind.Invalid, "class_name", $"this region is not the policy home ({FederationSettings.PolicyHome ?? "none"})");
        }

        var applied = State.ClassForwardedApplied ??= new Dictionary<string, long>(StringComparer.Ordinal);
        if (applied.TryGetValue(forwarded.OriginRegion, out long last) && forwarded.Sequence <= last)
        {
            return FederatedState();
        }

        // Written with the change itself (or on its own when the change is refused), so a retry is never applied twice.
        applied[forwarded.OriginRegion] = forwarded.Sequence;
        var actor = forwarded.Actor with { Source = $"region:{forwarded.OriginRegion}" };
        try
        {
            switch (forwarded.Kind)
            {
                case ClassChangeKind.Policy:
                    await ApplyApprovedPolicyAsync(new PolicyChange(
                        forwarded.Policy ?? throw new AdminException(AdminErrorKind.Invalid, "policy", "is required"), actor, forwarded.Reason, forwarded.ExpectedVersion)
                    {
                        // Proposal numbers are per region: the origin keeps them apart.
                        ProposalId = $"{forwarded.OriginRegion}/{forwarded.ProposalId}",
                        ProposedBy = forwarded.ProposedBy,
                        ApprovedBy = forwarded.ApprovedBy,
                        EvalRef = forwarded.EvalRef,
                    });
                    break;
                case ClassChangeKind.BreakGlass:
                    await ForceModeAsync(new BreakGlassChange($"{forwarded.OriginRegion}/{forwarded.BreakGlassId}", forwarded.Mode, actor, forwarded.Reason, forwarded.Ttl));
                    break;
                case ClassChangeKind.ClearBreakGlass:
                    await ClearBreakGlassAsync(actor, forwarded.Reason);
                    break;
                default:
                    throw new AdminException(AdminErrorKind.Invalid, "kind", "must be POLICY, BREAK_GLASS or CLEAR_BREAK_GLASS");
            }
        }
        catch (AdminException)
        {
            await PersistAsync();
            throw;
        }

        // A no-op retry (same proposal or break-glass id) wrote nothing: the sequence is written now.
        await PersistAsync();
        return FederatedState();
    }

    private FollowedClass FederatedState() =>
        new(State.Version, PolicyVersion, _approved, State.PolicyChangedBy, State.BreakGlass is { } glass && glass.IsActive(time.GetUtcNow()) ? glass : null);

    // In a follower region, called in the turn of a local change before its write: the change joins the ordered outbox
    // and is written with it. Null (nothing staged) in the policy home or with federation off.
    private ForwardedClassChange? StageClassForward(Func<long, ForwardedClassChange> make)
    {
        if (!IsPolicyFollower)
        {
            return null;
        }

        var change = make(State.ClassSequence + 1);
        State.ClassSequence++;
        (State.ClassOutbox ??= []).Add(change);
        return change;
    }

    private void UnstageClassForward(ForwardedClassChange? staged)
    {
        if (staged is not null && State.ClassOutbox?.Remove(staged) == true)
        {
            State.ClassSequence--;
        }
    }

    private async Task ForwardStagedAsync(ForwardedClassChange? staged)
    {
        if (staged is null)
        {
            return;
        }

        await SendClassOutboxAsync();
        EnsureClassOutboxTimer();
    }

    private ForwardedClassChange PolicyForward(long sequence, PolicyChange change) =>
        new(FederationSettings.Region!, sequence, ClassChangeKind.Policy, change.Actor, change.Reason)
        {
            Policy = change.Policy,
            ExpectedVersion = change.ExpectedVersion,
            ProposalId = change.ProposalId,
            ProposedBy = change.ProposedBy,
            ApprovedBy = change.ApprovedBy,
            EvalRef = change.EvalRef,
        };

    private ForwardedClassChange BreakGlassForward(long sequence, ActiveBreakGlass? glass, AdminActor actor, string reason) => glass is null
        ? new(FederationSettings.Region!, sequence, ClassChangeKind.ClearBreakGlass, actor, reason)
        : new(FederationSettings.Region!, sequence, ClassChangeKind.BreakGlass, actor, reason)
        {
            BreakGlassId = glass.Id,
            Mode = glass.Mode,
            Ttl = glass.ExpiresAt is { } until ? until - glass.At : null,
        };

    // The policy home's state becomes this region's: persisted before it is pushed to the nodes.
    private async Task ApplyFollowedAsync(FollowedClass followed)
    {
        var fleet = catalog.Classes[this.GetPrimaryKeyString()].Policy;
        var approved = followed.Policy with { Budget = fleet.Budget, Spend = fleet.Spend };
        State.Policy = approved;
        State.PolicyVersion = followed.PolicyVersion;
        State.PolicyChangedBy = followed.ChangedBy;
        // A break-glass made here comes back under the id the policy home gave it ("{region}/{id}"): it is this region's own.
        string own = FederationSettings.Region + "/";
        State.BreakGlass = followed.BreakGlass is { } glass && glass.Id.StartsWith(own, StringComparison.Ordinal)
            ? glass with { Id = glass.Id[own.Length..] }
            : followed.BreakGlass;
        State.Version = PublicationVersion.Next(State.Version, time);
        await PersistAsync();
        _approved = approved;
        _policy = ClassBreakGlass.Effective(_approved, State.BreakGlass, time.GetUtcNow());
        var status = Status();
        await _subscribers.NotifyAsync(o => o.OnClassChangedAsync(status));
    }

    private void ResumeClassOutbox() => EnsureClassOutboxTimer();

    private void EnsureClassOutboxTimer()
    {
        if (_classOutboxTimer is null && State.ClassOutbox is { Count: > 0 })
        {
            _classOutboxTimer = this.RegisterGrainTimer(async _ =>
            {
                await SendClassOutboxAsync();
                if (State.ClassOutbox is not { Count: > 0 })
                {
                    _classOutboxTimer?.Dispose();
                    _classOutboxTimer = null;
                }
            }, new GrainTimerCreationOptions(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)));
        }
    }

    // Sends the outbox oldest first; stops at the first change the policy home could not be asked about (the link is
    // down: the timer retries). A change the policy home refuses (a version conflict there) is dropped with a warning:
    // the policy home's state then stands and replaces the local one when the outbox drains.
    private async Task SendClassOutboxAsync()
    {
        var channels = ServiceProvider.GetService<FederationChannels>();
        if (channels is null || State.ClassOutbox is not { Count: > 0 } outbox || FederationSettings.PolicyHome is not { } home)
        {
            return;
        }

        Contracts.V1.Federation.FederationClient client;
        try
        {
            client = new Contracts.V1.Federation.FederationClient(channels.For(home));
        }
        catch (ArgumentException)
        {
            return;
        }

        var name = this.GetPrimaryKeyString();
        while (outbox.Count > 0)
        {
            var next = outbox[0];
            try
            {
                var reply = await client.ApplyClassChangeAsync(FederatedClasses.ToWire(name, next), deadline: time.GetUtcNow().UtcDateTime + ClassForwardDeadline);
                // The policy home's state after the change: kept at once (the feed brings the same version later).
                if (reply.State is { } state && FederatedClasses.FromWire(state, catalog, out _) is { } followed
                    && followed.HomeVersion > (State.FollowedClass?.HomeVersion ?? 0))
                {
                    State.FollowedClass = followed;
                }
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.FailedPrecondition or StatusCode.InvalidArgument or StatusCode.NotFound)
            {
                logger.LogWarning("Class {Class}: policy home {Home} refused forwarded change #{Sequence}: {Detail}", name, home, next.Sequence, e.Status.Detail);
            }
            catch (RpcException)
            {
                return;
            }

            outbox.RemoveAt(0);
            if (outbox.Count == 0 && State.FollowedClass is { } adopted)
            {
                await ApplyFollowedAsync(adopted);
            }
            else
            {
                await PersistAsync();
            }
        }
    }
}
