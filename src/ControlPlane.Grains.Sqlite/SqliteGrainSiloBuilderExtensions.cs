using ControlPlane.Grains.Storage;

namespace ControlPlane.Grains.Sqlite;

/// <summary>Registers <see cref="SqliteGrainStorage"/> on a silo.</summary>
public static class SqliteGrainSiloBuilderExtensions
{
    /// <summary>Stores grain state in the SQLite file at <paramref name="path"/> (created when missing).</summary>
    public static GrainSiloBuilder UseSqliteStorage(this GrainSiloBuilder builder, string path, Action<SqliteGrainStorageOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new SqliteGrainStorageOptions { Path = path };
        configure?.Invoke(options);
        options.Validate();
        return builder.UseStorage(_ => (IGrainStorage)new SqliteGrainStorage(options));
    }
}
