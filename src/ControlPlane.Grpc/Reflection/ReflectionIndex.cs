using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ControlPlane.Grpc.Reflection;

/// <summary>What server reflection can answer: the hosted services and every protobuf file they
/// are described by (with transitive dependencies), indexed by file name and by symbol.</summary>
internal sealed class ReflectionIndex
{
    private readonly Dictionary<string, FileDescriptor> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FileDescriptor> _symbols = new(StringComparer.Ordinal);
    private readonly HashSet<string> _messages = new(StringComparer.Ordinal);

    public ReflectionIndex(IEnumerable<string> serviceNames, IEnumerable<FileDescriptor> files)
    {
        ServiceNames = [.. serviceNames.Order(StringComparer.Ordinal)];
        foreach (var file in files)
        {
            AddFile(file);
        }
    }

    public IReadOnlyList<string> ServiceNames { get; }

    public bool TryGetFileByName(string name, out FileDescriptor file) => _files.TryGetValue(name, out file!);

    /// <summary>Finds the file declaring a fully-qualified symbol: a service, method, message
    /// (nested too), field, enum or enum value. A leading dot is tolerated.</summary>
    public bool TryGetFileContainingSymbol(string symbol, out FileDescriptor file) =>
        _symbols.TryGetValue(symbol.StartsWith('.') ? symbol[1..] : symbol, out file!);

    public bool IsMessage(string name) => _messages.Contains(name.StartsWith('.') ? name[1..] : name);

    /// <summary>The serialized file followed by all its transitive dependencies, each once.</summary>
    public List<ByteString> FileWithDependencies(FileDescriptor file)
    {
        var result = new List<ByteString>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<FileDescriptor>();
        pending.Enqueue(file);
        while (pending.Count > 0)
        {
            var next = pending.Dequeue();
            if (!seen.Add(next.Name))
            {
                continue;
            }

            result.Add(next.SerializedData);
            foreach (var dependency in next.Dependencies)
            {
                pending.Enqueue(dependency);
            }
        }

        return result;
    }

    private void AddFile(FileDescriptor file)
    {
        if (!_files.TryAdd(file.Name, file))
        {
            return;
        }

        foreach (var dependency in file.Dependencies)
        {
            AddFile(dependency);
        }

        foreach (var service in file.Services)
        {
            _symbols.TryAdd(service.FullName, file);
            foreach (var method in service.Methods)
            {
                _symbols.TryAdd(method.FullName, file);
            }
        }

        foreach (var message in file.MessageTypes)
        {
            AddMessage(file, message);
        }

        foreach (var enumType in file.EnumTypes)
        {
            AddEnum(file, enumType);
        }

        foreach (var extension in file.Extensions.UnorderedExtensions)
        {
            _symbols.TryAdd(extension.FullName, file);
        }
    }

    private void AddMessage(FileDescriptor file, MessageDescriptor message)
    {
        _symbols.TryAdd(message.FullName, file);
        _messages.Add(message.FullName);
        foreach (var field in message.Fields.InDeclarationOrder())
        {
            _symbols.TryAdd(field.FullName, file);
        }

        foreach (var oneof in message.Oneofs)
        {
            _symbols.TryAdd(oneof.FullName, file);
        }

        foreach (var nested in message.NestedTypes)
        {
            AddMessage(file, nested);
        }

        foreach (var nested in message.EnumTypes)
        {
            AddEnum(file, nested);
        }
    }

    private void AddEnum(FileDescriptor file, EnumDescriptor enumType)
    {
        _symbols.TryAdd(enumType.FullName, file);
        foreach (var value in enumType.Values)
        {
            _symbols.TryAdd(value.FullName, file);
        }
    }
}
