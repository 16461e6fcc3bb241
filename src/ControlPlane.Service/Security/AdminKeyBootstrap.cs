using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Security;

/// <summary>Makes sure a fresh install is reachable by its operator and by nobody else: a configured bootstrap key
/// (<see cref="SecurityOptions.BootstrapKey"/>) is ensured in the store on every start (idempotently, so every node of a
/// cluster may carry the same one); otherwise, when the store is empty, a key holding every role is generated and
/// written to <see cref="SecurityOptions.BootstrapKeyPath"/> with mode 0600 (the path is logged, never the key). The
/// file is written before the store so a crash in between leaves a file the next start ensures, never a stored key
/// nobody has.</summary>
internal sealed partial class AdminKeyBootstrap(IGrainFactory grains, TimeProvider time, IOptions<SecurityOptions> options, ILogger<AdminKeyBootstrap> logger)
{
    /// <summary>The name (principal) of the bootstrap key.</summary>
    public const string KeyName = "bootstrap-admin";

    /// <summary>Ensures or creates the bootstrap key.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var store = grains.GetGrain<IApiKeyStoreGrain>(ApiKeyStoreGrain.Key);
        if (settings.BootstrapKey is { } configured)
        {
            await EnsureAsync(store, configured, "the configured key");
            return;
        }

        if (settings.BootstrapKeyPath is not { } path)
        {
            return;
        }

        if (File.Exists(path))
        {
            await EnsureAsync(store, await ReadKeyFileAsync(path, cancellationToken), path);
            return;
        }

        var (id, generated, hash) = ApiKeyTokens.Generate();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        try
        {
            await WriteSecretFileAsync(path, generated, cancellationToken);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another node sharing this data folder wrote it first: use that one.
            await EnsureAsync(store, await ReadKeyFileAsync(path, cancellationToken), path);
            return;
        }

        var created = await store.BootstrapAsync(Record(id, hash), onlyIfEmpty: true);
        if (created is null)
        {
            // Another node (or an earlier life of the store) made keys already: this file would grant nothing.
            File.Delete(path);
            LogStoreNotEmpty(logger);
            return;
        }

        LogGenerated(logger, Path.GetFullPath(path));
    }

    private async Task EnsureAsync(IApiKeyStoreGrain store, string token, string source)
    {
        if (!ApiKeyTokens.TryParse(token, out var id, out var hash))
        {
            throw new InvalidOperationException($"{source}: not an API key (cpk_<12-char id>_<43-char base64url secret>).");
        }

        var stored = await store.BootstrapAsync(Record(id, hash), onlyIfEmpty: false);
        if (stored is null || !stored.SecretHash.AsSpan().SequenceEqual(hash))
        {
            throw new InvalidOperationException($"{source}: the key store holds key '{id}' with another secret.");
        }

        if (stored.RevokedAt is not null)
        {
            LogRevoked(logger, id);
        }
    }

    // A file another process is still writing reads short for a moment: read until it holds a whole key (bounded).
    private static async Task<string> ReadKeyFileAsync(string path, CancellationToken cancellationToken)
    {
        var token = "";
        for (var attempt = 0; attempt < 20; attempt++)
        {
            token = (await File.ReadAllTextAsync(path, cancellationToken)).Trim();
            if (ApiKeyTokens.TryParse(token, out _, out _))
            {
                return token;
            }

            await Task.Delay(50, cancellationToken);
        }

        return token;
    }

    private ApiKeyRecord Record(string id, byte[] hash) => new(id, KeyName, [.. Roles.All], hash, time.GetUtcNow(), AdminActor.System("bootstrap").Principal, null);

    /// <summary>Creates <paramref name="path"/> readable and writable by the owner only (0600), failing if it exists.</summary>
    internal static async Task WriteSecretFileAsync(string path, string content, CancellationToken cancellationToken)
    {
        var file = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            file.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using var stream = new FileStream(path, file);
        await using var writer = new StreamWriter(stream);
        await writer.WriteLineAsync(content.AsMemory(), cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generated the bootstrap admin key (every role) and wrote it to {Path} (mode 0600). Use it to create per-person keys: POST /admin/v1/keys.")]
    private static partial void LogGenerated(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "The key store already holds keys: no bootstrap admin key generated.")]
    private static partial void LogStoreNotEmpty(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The bootstrap admin key {Id} is revoked: it grants nothing.")]
    private static partial void LogRevoked(ILogger logger, string id);
}
