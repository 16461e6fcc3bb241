using ControlPlane.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Runtime.Hosting;

namespace Orleans.Hosting;

/// <summary>Registers <see cref="SqliteGrainStorage"/> as a named grain-storage provider of a silo.</summary>
public static class SqliteGrainStorageSiloBuilderExtensions
{
    /// <summary>Stores grain state of provider <paramref name="name"/> in the SQLite file <paramref name="path"/>
    /// (created when missing), with the default durability and checkpoint settings.</summary>
    public static ISiloBuilder AddSqliteGrainStorage(this ISiloBuilder builder, string name, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return builder.AddSqliteGrainStorage(name, options => options.Path = path);
    }

    /// <summary>Stores grain state of provider <paramref name="name"/> in a SQLite file configured by
    /// <paramref name="configure"/> (<see cref="SqliteGrainStorageOptions.Path"/> is required). Options are validated
    /// at start-up.</summary>
    public static ISiloBuilder AddSqliteGrainStorage(this ISiloBuilder builder, string name, Action<SqliteGrainStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSqliteGrainStorage(name, configure);
        return builder;
    }

    /// <summary>The <see cref="IServiceCollection"/> form of
    /// <see cref="AddSqliteGrainStorage(ISiloBuilder, string, Action{SqliteGrainStorageOptions})"/>.</summary>
    public static IServiceCollection AddSqliteGrainStorage(this IServiceCollection services, string name, Action<SqliteGrainStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<SqliteGrainStorageOptions>(name).Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteGrainStorageOptions>, SqliteGrainStorageOptionsValidator>());
        services.AddGrainStorage(name, SqliteGrainStorage.Create);
        return services;
    }
}
