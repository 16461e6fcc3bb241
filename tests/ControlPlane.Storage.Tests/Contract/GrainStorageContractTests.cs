using Orleans;
using Orleans.Runtime;
using Orleans.Storage;

namespace ControlPlane.Storage.Tests.Contract;

/// <summary>The contract every Orleans <see cref="IGrainStorage"/> we run on must meet, written once and subclassed per
/// provider (as Orleans' <c>MembershipTableTestsBase</c> is): our SQLite provider and Orleans' Redis provider against a
/// real redis-server. Orleans' memory provider is not run here: it keeps state in grains, so it cannot be built without
/// a whole silo.</summary>
/// <remarks>Every call goes through the <see cref="IGrainState{T}"/> object as the Orleans runtime uses it: the etag a
/// provider hands back is the one the next call presents, whatever its format.</remarks>
public abstract class GrainStorageContractTests : IAsyncLifetime
{
    protected const string StateName = "contract";

    private IGrainStorage? _storage;

    protected IGrainStorage Storage => _storage ?? throw new InvalidOperationException("Storage not created.");

    /// <summary>Creates the provider for one test, over empty storage of its own.</summary>
    protected abstract Task<IGrainStorage> CreateStorageAsync();

    /// <summary>Closes <paramref name="storage"/> as a stopping silo would and opens a new instance over the same data.</summary>
    protected abstract Task<IGrainStorage> ReopenAsync(IGrainStorage storage);

    /// <summary>Closes a provider made by <see cref="CreateStorageAsync"/> or <see cref="ReopenAsync"/>.</summary>
    protected abstract Task CloseAsync(IGrainStorage storage);

    public async Task InitializeAsync() => _storage = await CreateStorageAsync();

    public virtual async Task DisposeAsync()
    {
        if (_storage is not null)
        {
            await CloseAsync(_storage);
        }
    }

    protected static GrainId Grain(string key = "g1") => GrainId.Create("contract-grain", key);

    protected static GrainState<ContractState> NewState(string text = "", int number = 0) =>
        new(new ContractState { Text = text, Number = number });

    protected async Task<GrainState<ContractState>> ReadAsync(GrainId grain, string stateName = StateName)
    {
        var state = new GrainState<ContractState>();
        await Storage.ReadStateAsync(stateName, grain, state);
        return state;
    }

    [Fact]
    public async Task Read_of_missing_state_leaves_default_state_without_record_or_etag()
    {
        var state = await ReadAsync(Grain());

        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);
        Assert.NotNull(state.State);
        Assert.Equal("", state.State!.Text);
        Assert.Equal(0, state.State!.Number);
    }

    [Fact]
    public async Task Write_then_read_round_trips_state_and_etag()
    {
        var written = NewState("hello", 42);
        written.State!.Items.AddRange(["a", "b"]);
        await Storage.WriteStateAsync(StateName, Grain(), written);

        Assert.True(written.RecordExists);
        Assert.NotNull(written.ETag);
        var read = await ReadAsync(Grain());
        Assert.True(read.RecordExists);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Equal("hello", read.State!.Text);
        Assert.Equal(42, read.State!.Number);
        Assert.Equal(["a", "b"], read.State!.Items);
    }

    [Fact]
    public async Task Each_write_gets_a_new_etag()
    {
        var state = NewState();
        var etags = new List<string?>();
        for (var i = 0; i < 5; i++)
        {
            state.State!.Number = i;
            await Storage.WriteStateAsync(StateName, Grain(), state);
            etags.Add(state.ETag);
        }

        Assert.All(etags, Assert.NotNull);
        Assert.Equal(etags.Count, etags.Distinct().Count());
        Assert.Equal(etags[^1], (await ReadAsync(Grain())).ETag);
    }

    [Fact]
    public async Task Write_with_a_stale_etag_throws_and_leaves_stored_state_alone()
    {
        var first = NewState("v1");
        await Storage.WriteStateAsync(StateName, Grain(), first);
        var staleETag = first.ETag;
        first.State!.Text = "v2";
        await Storage.WriteStateAsync(StateName, Grain(), first);

        var stale = NewState("stale");
        stale.ETag = staleETag;
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync(StateName, Grain(), stale));

        var read = await ReadAsync(Grain());
        Assert.Equal("v2", read.State!.Text);
        Assert.Equal(first.ETag, read.ETag);
    }

    [Fact]
    public async Task First_writer_wins_a_write_expecting_no_state_throws_once_state_exists()
    {
        await Storage.WriteStateAsync(StateName, Grain(), NewState("first"));

        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync(StateName, Grain(), NewState("second")));
        Assert.Equal("first", (await ReadAsync(Grain())).State!.Text);
    }

    [Fact]
    public async Task Write_with_an_etag_throws_when_nothing_is_stored()
    {
        var state = NewState("ghost");
        state.ETag = "no-such-etag";

        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync(StateName, Grain(), state));
        Assert.False((await ReadAsync(Grain())).RecordExists);
    }

    [Fact]
    public async Task Writers_racing_from_the_same_etag_exactly_one_wins()
    {
        const int writers = 12;
        var baseState = NewState("base");
        await Storage.WriteStateAsync(StateName, Grain(), baseState);
        var etag = baseState.ETag;

        for (var round = 0; round < 4; round++)
        {
            var candidates = Enumerable.Range(0, writers).Select(w => new GrainState<ContractState>(
                new ContractState { Text = $"r{round}w{w}" }) { ETag = etag, RecordExists = true }).ToArray();
            using var start = new ManualResetEventSlim();
            var attempts = candidates.Select(c => Task.Run(async () =>
            {
                start.Wait();
                try
                {
                    await Storage.WriteStateAsync(StateName, Grain(), c);
                    return true;
                }
                catch (InconsistentStateException)
                {
                    return false;
                }
            })).ToArray();
            start.Set();
            var won = await Task.WhenAll(attempts);

            var winner = Assert.Single(candidates.Where((_, i) => won[i]));
            var read = await ReadAsync(Grain());
            Assert.Equal(winner.State!.Text, read.State!.Text);
            Assert.Equal(winner.ETag, read.ETag);
            etag = winner.ETag;
        }
    }

    [Fact]
    public async Task Racing_first_writers_exactly_one_creates_the_state()
    {
        var candidates = Enumerable.Range(0, 12).Select(w => NewState($"w{w}")).ToArray();
        using var start = new ManualResetEventSlim();
        var attempts = candidates.Select(c => Task.Run(async () =>
        {
            start.Wait();
            try
            {
                await Storage.WriteStateAsync(StateName, Grain("race"), c);
                return true;
            }
            catch (InconsistentStateException)
            {
                return false;
            }
        })).ToArray();
        start.Set();
        var won = await Task.WhenAll(attempts);

        var winner = Assert.Single(candidates.Where((_, i) => won[i]));
        Assert.Equal(winner.State!.Text, (await ReadAsync(Grain("race"))).State!.Text);
    }

    [Fact]
    public async Task Clear_with_the_current_etag_removes_state_and_a_new_activation_can_write_again()
    {
        var state = NewState("doomed", 7);
        await Storage.WriteStateAsync(StateName, Grain(), state);
        var etagBeforeClear = state.ETag;

        await Storage.ClearStateAsync(StateName, Grain(), state);

        Assert.False(state.RecordExists);
        Assert.Equal("", state.State!.Text);
        var reactivated = await ReadAsync(Grain());
        Assert.False(reactivated.RecordExists);
        Assert.Equal(0, reactivated.State!.Number);
        Assert.Equal(state.ETag, reactivated.ETag);

        // The pre-clear etag is dead; the etag the clear (or the re-read) handed out writes.
        var zombie = NewState("zombie");
        zombie.ETag = etagBeforeClear;
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync(StateName, Grain(), zombie));
        reactivated.State!.Text = "reborn";
        await Storage.WriteStateAsync(StateName, Grain(), reactivated);
        Assert.Equal("reborn", (await ReadAsync(Grain())).State!.Text);
    }

    [Fact]
    public async Task Clear_with_a_stale_etag_throws_and_leaves_stored_state_alone()
    {
        var state = NewState("v1");
        await Storage.WriteStateAsync(StateName, Grain(), state);
        var stale = new GrainState<ContractState>(new ContractState()) { ETag = state.ETag, RecordExists = true };
        state.State!.Text = "v2";
        await Storage.WriteStateAsync(StateName, Grain(), state);

        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.ClearStateAsync(StateName, Grain(), stale));
        var read = await ReadAsync(Grain());
        Assert.True(read.RecordExists);
        Assert.Equal("v2", read.State!.Text);
    }

    [Fact]
    public async Task Grains_and_state_names_are_independent()
    {
        await Storage.WriteStateAsync(StateName, Grain("a"), NewState("a/contract"));
        await Storage.WriteStateAsync(StateName, Grain("b"), NewState("b/contract"));
        await Storage.WriteStateAsync("other", Grain("a"), NewState("a/other"));
        await Storage.WriteStateAsync(StateName, GrainId.Create("other-grain", "a"), NewState("other-grain/a"));

        var a = await ReadAsync(Grain("a"));
        Assert.Equal("a/contract", a.State!.Text);
        Assert.Equal("b/contract", (await ReadAsync(Grain("b"))).State!.Text);
        Assert.Equal("a/other", (await ReadAsync(Grain("a"), "other")).State!.Text);
        Assert.Equal("other-grain/a", (await ReadAsync(GrainId.Create("other-grain", "a"))).State!.Text);
        Assert.False((await ReadAsync(Grain("c"))).RecordExists);

        // Clearing one leaves the others.
        await Storage.ClearStateAsync(StateName, Grain("a"), a);
        Assert.False((await ReadAsync(Grain("a"))).RecordExists);
        Assert.Equal("a/other", (await ReadAsync(Grain("a"), "other")).State!.Text);
        Assert.Equal("b/contract", (await ReadAsync(Grain("b"))).State!.Text);
    }

    [Fact]
    public async Task Large_state_round_trips()
    {
        var state = NewState(new string('x', 1_000_000));
        state.State!.Items.AddRange(Enumerable.Range(0, 10_000).Select(i => $"item-{i}"));
        await Storage.WriteStateAsync(StateName, Grain("large"), state);

        var read = await ReadAsync(Grain("large"));
        Assert.Equal(1_000_000, read.State!.Text.Length);
        Assert.Equal(state.State!.Items, read.State!.Items);
        Assert.Equal(state.ETag, read.ETag);
    }

    [Fact]
    public async Task Concurrent_writes_to_many_grains_all_land()
    {
        const int grains = 48;
        const int writesPerGrain = 8;
        await Task.WhenAll(Enumerable.Range(0, grains).Select(g => Task.Run(async () =>
        {
            // One activation per grain, writing in turn, as Orleans runs them.
            var state = NewState();
            for (var w = 1; w <= writesPerGrain; w++)
            {
                state.State!.Number = w;
                state.State!.Text = $"g{g}";
                await Storage.WriteStateAsync(StateName, Grain($"many-{g}"), state);
            }
        })));

        for (var g = 0; g < grains; g++)
        {
            var read = await ReadAsync(Grain($"many-{g}"));
            Assert.Equal($"g{g}", read.State!.Text);
            Assert.Equal(writesPerGrain, read.State!.Number);
        }
    }

    [Fact]
    public async Task State_survives_closing_and_reopening_the_provider()
    {
        var kept = NewState("kept", 3);
        await Storage.WriteStateAsync(StateName, Grain("kept"), kept);
        var cleared = NewState("cleared");
        await Storage.WriteStateAsync(StateName, Grain("cleared"), cleared);
        await Storage.ClearStateAsync(StateName, Grain("cleared"), cleared);

        _storage = await ReopenAsync(Storage);

        var read = await ReadAsync(Grain("kept"));
        Assert.Equal("kept", read.State!.Text);
        Assert.Equal(kept.ETag, read.ETag);
        Assert.False((await ReadAsync(Grain("cleared"))).RecordExists);
        // Etags stay valid across the restart.
        read.State!.Number = 4;
        await Storage.WriteStateAsync(StateName, Grain("kept"), read);
        Assert.Equal(4, (await ReadAsync(Grain("kept"))).State!.Number);
    }
}
