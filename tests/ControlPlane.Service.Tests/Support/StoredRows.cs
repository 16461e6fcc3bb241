using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace ControlPlane.Service.Tests.Support;

/// <summary>Edits the SQLite grain-storage file of a <see cref="TestStorage"/> behind the grains' backs, as someone with
/// access to the file would: rewrites a row's JSON or deletes the row, leaving its etag alone.</summary>
internal static class StoredRows
{
    /// <summary>Applies <paramref name="edit"/> to the stored JSON of <paramref name="grainId"/>'s state.</summary>
    public static void Edit(TestStorage storage, string stateName, GrainId grainId, Action<JsonNode> edit)
    {
        using var connection = Open(storage);
        byte[] data;
        using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT data FROM grain_storage WHERE state_name = @s AND grain_id = @g;";
            read.Parameters.AddWithValue("@s", stateName);
            read.Parameters.AddWithValue("@g", grainId.ToString());
            data = (byte[])(read.ExecuteScalar() ?? throw new InvalidOperationException($"no stored {stateName} for {grainId}"));
        }

        var json = JsonNode.Parse(data) ?? throw new InvalidOperationException("empty state");
        edit(json);
        using var write = connection.CreateCommand();
        write.CommandText = "UPDATE grain_storage SET data = @d WHERE state_name = @s AND grain_id = @g;";
        write.Parameters.AddWithValue("@s", stateName);
        write.Parameters.AddWithValue("@g", grainId.ToString());
        write.Parameters.Add("@d", SqliteType.Blob).Value = System.Text.Encoding.UTF8.GetBytes(json.ToJsonString());
        Assert.Equal(1, write.ExecuteNonQuery());
    }

    /// <summary>Deletes <paramref name="grainId"/>'s stored state.</summary>
    public static void Delete(TestStorage storage, string stateName, GrainId grainId)
    {
        using var connection = Open(storage);
        using var delete = connection.CreateCommand();
        delete.CommandText = "DELETE FROM grain_storage WHERE state_name = @s AND grain_id = @g;";
        delete.Parameters.AddWithValue("@s", stateName);
        delete.Parameters.AddWithValue("@g", grainId.ToString());
        Assert.Equal(1, delete.ExecuteNonQuery());
    }

    private static SqliteConnection Open(TestStorage storage)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = storage.DatabasePath,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = 10,
        }.ToString());
        connection.Open();
        return connection;
    }
}
