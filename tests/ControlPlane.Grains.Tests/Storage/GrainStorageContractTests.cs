using System.Globalization;
using System.Text;
using ControlPlane.Grains.Storage;
using FsCheck;
using FsCheck.Fluent;
using ControlPlane.Grains.Tests.TestGrains;

namespace ControlPlane.Grains.Tests.Storage;

/// <summary>The contract every <see cref="IGrainStorage"/> provider must meet, written once and run against each
/// provider by subclassing (memory and SQLite here; Redis later).</summary>
public abstract class GrainStorageContractTests : IAsyncLifetime
{
    private IGrainStorage? _storage;

    protected IGrainStorage Storage => _storage ?? throw new InvalidOperationException("Storage not created.");

    /// <summary>Creates a fresh, empty provider for one test.</summary>
    protected abstract Task<IGrainStorage> CreateStorageAsync();

    public async Task InitializeAsync() => _storage = await CreateStorageAsync();

    public async Task DisposeAsync()
    {
        switch (_storage)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    private static GrainId Id(string key = "k") => new("contract", key);

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    private static string Text(GrainStateRecord? r) => Encoding.UTF8.GetString(r!.Data!.Value.Span);

    [Fact]
    public async Task Read_of_never_written_state_is_null()
    {
        Assert.Null(await Storage.ReadAsync(Id()));
    }

    [Fact]
    public async Task Write_then_read_returns_bytes_etag_and_epoch()
    {
        var etag = await Storage.WriteAsync(Id(), Bytes("one"), null, 3);
        var read = await Storage.ReadAsync(Id());

        Assert.Equal("one", Text(read));
        Assert.Equal(etag, read!.ETag);
        Assert.Equal(3, read.Epoch);
    }

    [Fact]
    public async Task Each_write_gets_a_new_etag_and_the_old_one_stops_working()
    {
        var first = await Storage.WriteAsync(Id(), Bytes("1"), null, 0);
        var second = await Storage.WriteAsync(Id(), Bytes("2"), first, 0);

        Assert.NotEqual(first, second);
        var conflict = await Assert.ThrowsAsync<GrainStorageConflictException>(() => Storage.WriteAsync(Id(), Bytes("3"), first, 0).AsTask());
        Assert.Equal(Id(), conflict.GrainId);
        Assert.Equal(second, conflict.StoredETag);
        Assert.Equal("2", Text(await Storage.ReadAsync(Id())));
    }

    [Fact]
    public async Task Write_expecting_no_state_conflicts_when_state_exists()
    {
        await Storage.WriteAsync(Id(), Bytes("1"), null, 0);

        await Assert.ThrowsAsync<GrainStorageConflictException>(() => Storage.WriteAsync(Id(), Bytes("2"), null, 0).AsTask());
    }

    [Fact]
    public async Task Write_with_an_etag_conflicts_when_nothing_is_stored()
    {
        await Assert.ThrowsAsync<GrainStorageConflictException>(() => Storage.WriteAsync(Id(), Bytes("1"), "1", 0).AsTask());
        await Assert.ThrowsAsync<GrainStorageConflictException>(() => Storage.WriteAsync(Id(), Bytes("1"), "not-an-etag", 0).AsTask());
    }

    [Fact]
    public async Task Older_epoch_is_fenced_even_with_the_right_etag()
    {
        var etag = await Storage.WriteAsync(Id(), Bytes("owner5"), null, 5);

        var fenced = await Assert.ThrowsAsync<GrainFencedException>(() => Storage.WriteAsync(Id(), Bytes("zombie"), etag, 4).AsTask());
        Assert.Equal(4, fenced.WriterEpoch);
        Assert.Equal(5, fenced.StoredEpoch);
        Assert.Equal("owner5", Text(await Storage.ReadAsync(Id())));
    }

    [Fact]
    public async Task Fencing_is_checked_before_the_etag()
    {
        await Storage.WriteAsync(Id(), Bytes("owner5"), null, 5);

        // A zombie with a stale etag must learn that it is fenced, not merely conflicted.
        await Assert.ThrowsAsync<GrainFencedException>(() => Storage.WriteAsync(Id(), Bytes("zombie"), "999", 2).AsTask());
    }

    [Fact]
    public async Task Newer_epoch_is_accepted_and_recorded_and_epochs_never_go_back()
    {
        var etag = await Storage.WriteAsync(Id(), Bytes("a"), null, 1);
        etag = await Storage.WriteAsync(Id(), Bytes("b"), etag, 7);
        Assert.Equal(7, (await Storage.ReadAsync(Id()))!.Epoch);

        // The same epoch keeps writing; an older one (the previous owner) is now fenced.
        etag = await Storage.WriteAsync(Id(), Bytes("c"), etag, 7);
        await Assert.ThrowsAsync<GrainFencedException>(() => Storage.WriteAsync(Id(), Bytes("d"), etag, 1).AsTask());
        await Assert.ThrowsAsync<GrainFencedException>(() => Storage.ClearAsync(Id(), etag, 6).AsTask());

        var read = await Storage.ReadAsync(Id());
        Assert.Equal(7, read!.Epoch);
        Assert.Equal("c", Text(read));
    }

    [Fact]
    public async Task Clear_removes_state_keeps_the_epoch_and_allows_a_fresh_write()
    {
        var etag = await Storage.WriteAsync(Id(), Bytes("a"), null, 4);
        await Storage.ClearAsync(Id(), etag, 4);

        // A cleared grain reads as a tombstone: no data, no etag, the epoch kept.
        var cleared = await Storage.ReadAsync(Id());
        Assert.NotNull(cleared);
        Assert.Null(cleared.Data);
        Assert.Null(cleared.ETag);
        Assert.Equal(4, cleared.Epoch);

        // The old etag is dead; a write expecting no state succeeds; a zombie cannot recreate state.
        await Assert.ThrowsAsync<GrainStorageConflictException>(() => Storage.WriteAsync(Id(), Bytes("stale"), etag, 4).AsTask());
        await Assert.ThrowsAsync<GrainFencedException>(() => Storage.WriteAsync(Id(), Bytes("zombie"), null, 3).AsTask());
        var fresh = await Storage.WriteAsync(Id(), Bytes("b"), null, 4);
        Assert.NotEqual(etag, fresh);
        Assert.Equal("b", Text(await Storage.ReadAsync(Id())));
    }

    [Fact]
    public async Task Clear_with_a_stale_etag_conflicts()
    {
        var first = await Storage.WriteAsync(Id(), Bytes("a"), null, 0);
        await Storage.WriteAsync(Id(), Bytes("b"), first, 0);

        await Assert.ThrowsAsync<GrainStorageConflictException>(() => Storage.ClearAsync(Id(), first, 0).AsTask());
        Assert.Equal("b", Text(await Storage.ReadAsync(Id())));
    }

    [Fact]
    public async Task Clear_of_never_written_state_records_the_epoch()
    {
        await Storage.ClearAsync(Id(), null, 9);

        await Assert.ThrowsAsync<GrainFencedException>(() => Storage.WriteAsync(Id(), Bytes("zombie"), null, 8).AsTask());
        await Storage.WriteAsync(Id(), Bytes("owner"), null, 9);
    }

    [Fact]
    public async Task Keys_and_grain_types_are_independent()
    {
        const int keys = 200;
        for (var i = 0; i < keys; i++)
        {
            await Storage.WriteAsync(new GrainId("contract", $"k{i}"), Bytes($"v{i}"), null, i);
        }

        await Storage.WriteAsync(new GrainId("other-type", "k1"), Bytes("other"), null, 0);

        for (var i = 0; i < keys; i++)
        {
            var read = await Storage.ReadAsync(new GrainId("contract", $"k{i}"));
            Assert.Equal($"v{i}", Text(read));
            Assert.Equal(i, read!.Epoch);
        }

        Assert.Equal("other", Text(await Storage.ReadAsync(new GrainId("other-type", "k1"))));
        Assert.Null(await Storage.ReadAsync(new GrainId("contract", "missing")));
    }

    [Fact]
    public async Task Concurrent_writers_with_the_same_etag_exactly_one_wins()
    {
        var etag = await Storage.WriteAsync(Id(), Bytes("base"), null, 0);
        const int writers = 16;

        for (var round = 0; round < 5; round++)
        {
            using var start = new ManualResetEventSlim();
            var attempts = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
            {
                start.Wait();
                try
                {
                    return (Writer: w, ETag: (string?)await Storage.WriteAsync(Id(), Bytes($"w{w}"), etag, 0));
                }
                catch (GrainStorageConflictException)
                {
                    return (Writer: w, ETag: null);
                }
            })).ToArray();
            start.Set();
            var results = await Task.WhenAll(attempts);

            var winners = results.Where(r => r.ETag is not null).ToArray();
            Assert.Single(winners);
            var read = await Storage.ReadAsync(Id());
            Assert.Equal($"w{winners[0].Writer}", Text(read));
            Assert.Equal(winners[0].ETag, read!.ETag);
            etag = winners[0].ETag!;
        }
    }

    [Fact]
    public async Task Concurrent_first_writers_exactly_one_creates_the_state()
    {
        var attempts = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            try
            {
                await Storage.WriteAsync(Id("race"), Bytes($"w{w}"), null, 0);
                return true;
            }
            catch (GrainStorageConflictException)
            {
                return false;
            }
        })).ToArray();

        Assert.Equal(1, (await Task.WhenAll(attempts)).Count(won => won));
    }

    [Fact]
    public async Task Corrupt_state_surfaces_at_activation_and_spares_other_grains()
    {
        await Storage.WriteAsync(new GrainId("counter", "broken"), Bytes("{ not json"), null, 0);
        await Storage.WriteAsync(new GrainId("counter", "fine"), Bytes("""{"value":41}"""), null, 0);
        await using var host = await TestHost.StartAsync(Storage);
        var broken = host.Grains.GetGrain<ICounterGrain>("broken");

        var error = await Assert.ThrowsAsync<GrainStateCorruptException>(() => broken.IncrementAsync());
        Assert.Equal(new GrainId("counter", "broken"), error.GrainId);
        Assert.Contains("counter/broken", error.Message, StringComparison.Ordinal);
        Assert.Equal(typeof(CounterState), error.StateType);
        Assert.Equal(0, host.Probe.Activations("broken"));

        Assert.Equal(42, await host.Grains.GetGrain<ICounterGrain>("fine").IncrementAsync());

        // Still refused (not half-activated) on the next call; the bytes were left alone.
        await Assert.ThrowsAsync<GrainStateCorruptException>(() => broken.GetAsync());
        Assert.Equal("{ not json", Text(await Storage.ReadAsync(new GrainId("counter", "broken"))));
    }

    [Fact]
    public void Any_sequence_of_writes_and_clears_follows_the_model_and_epochs_never_go_back()
    {
        var op = Gen.Choose(0, 1).SelectMany(write => Gen.Choose(0, 5).SelectMany(epoch => Gen.Choose(0, 2)
            .Select(etag => new StorageOp(write == 1, epoch, (EtagChoice)etag))));
        var runs = Gen.Choose(1, 12).SelectMany(n => Gen.ListOf(op, n)).ToArbitrary();
        var run = 0;

        Prop.ForAll(runs, ops => FollowsModel(new GrainId("property", (run++).ToString(CultureInfo.InvariantCulture)), ops))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    private bool FollowsModel(GrainId id, IEnumerable<StorageOp> ops)
    {
        // The model: what a correct provider must answer, op by op.
        string? etag = null;
        long? epoch = null;
        var issued = new List<string>();
        foreach (var (write, opEpoch, choice) in ops)
        {
            var expected = choice switch
            {
                EtagChoice.Current => etag,
                EtagChoice.Stale => issued.FirstOrDefault(e => e != etag) ?? "424242",
                _ => null,
            };
            var want = epoch > opEpoch ? "fenced" : expected != etag ? "conflict" : "ok";

            string got;
            try
            {
                if (write)
                {
                    var next = Storage.WriteAsync(id, Bytes($"e{opEpoch}"), expected, opEpoch).AsTask().GetAwaiter().GetResult();
                    issued.Add(next);
                    etag = next;
                }
                else
                {
                    Storage.ClearAsync(id, expected, opEpoch).AsTask().GetAwaiter().GetResult();
                    etag = null;
                }

                epoch = opEpoch;
                got = "ok";
            }
            catch (GrainFencedException)
            {
                got = "fenced";
            }
            catch (GrainStorageConflictException)
            {
                got = "conflict";
            }

            var read = Storage.ReadAsync(id).AsTask().GetAwaiter().GetResult();
            if (got != want || read?.ETag != etag || read?.Epoch != epoch || issued.Distinct().Count() != issued.Count)
            {
                return false;
            }
        }

        return true;
    }

    private enum EtagChoice
    {
        Current,
        Stale,
        None,
    }

    private readonly record struct StorageOp(bool Write, int Epoch, EtagChoice ETag);
}
