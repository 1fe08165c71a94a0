using Google.Protobuf.Reflection;

namespace FlashDeal.Grpc;

/// <summary>
/// Finds the file that declares a fully-qualified name, over a set of files and their dependencies.
/// FileDescriptor.FindTypeByName only takes package-relative names, so reflection keeps its own map.
/// </summary>
internal sealed class ReflectionSymbolIndex
{
    private readonly Dictionary<string, FileDescriptor> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FileDescriptor> _symbols = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Type, int Number), FileDescriptor> _extensions = [];
    private readonly HashSet<string> _messages = new(StringComparer.Ordinal);

    public ReflectionSymbolIndex(IEnumerable<FileDescriptor> files)
    {
        foreach (var root in files)
        {
            foreach (var file in WithDependencies(root))
            {
                if (_files.TryAdd(file.Name, file))
                {
                    AddFile(file);
                }
            }
        }
    }

    public IEnumerable<string> FileNames => _files.Keys;

    public FileDescriptor? FindFileByName(string name) => _files.GetValueOrDefault(name);

    /// <summary>The file declaring a package, service, method, message, enum, enum value, field, oneof or extension.</summary>
    public FileDescriptor? FindFileContainingSymbol(string fullName) => _symbols.GetValueOrDefault(fullName);

    public FileDescriptor? FindFileContainingExtension(string containingType, int number) =>
        _extensions.GetValueOrDefault((containingType, number));

    /// <summary>Field numbers of every known extension of a message type; null when the type is unknown.</summary>
    public IReadOnlyList<int>? FindExtensionNumbers(string messageType) =>
        _messages.Contains(messageType)
            ? _extensions.Keys.Where(k => k.Type == messageType).Select(k => k.Number).Order().ToArray()
            : null;

    /// <summary>The file first, then each of its transitive dependencies once: what a reflection client needs to build it.</summary>
    public static IReadOnlyList<FileDescriptor> WithDependencies(FileDescriptor file)
    {
        var result = new List<FileDescriptor>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<FileDescriptor>();
        pending.Enqueue(file);
        while (pending.TryDequeue(out var next))
        {
            if (!seen.Add(next.Name))
            {
                continue;
            }
            result.Add(next);
            foreach (var dependency in next.Dependencies)
            {
                pending.Enqueue(dependency);
            }
        }
        return result;
    }

    private void AddFile(FileDescriptor file)
    {
        if (file.Package.Length > 0)
        {
            _symbols.TryAdd(file.Package, file);
        }
        foreach (var message in file.MessageTypes)
        {
            AddMessage(message);
        }
        foreach (var enumType in file.EnumTypes)
        {
            AddEnum(enumType, file.Package);
        }
        foreach (var extension in file.Extensions.UnorderedExtensions)
        {
            AddExtension(extension);
        }
        foreach (var service in file.Services)
        {
            Add(service.FullName, file);
            foreach (var method in service.Methods)
            {
                Add(method.FullName, file);
            }
        }
    }

    private void AddMessage(MessageDescriptor message)
    {
        Add(message.FullName, message.File);
        _messages.Add(message.FullName);
        foreach (var field in message.Fields.InDeclarationOrder())
        {
            Add($"{message.FullName}.{field.Name}", message.File);
        }
        foreach (var oneof in message.Oneofs)
        {
            Add($"{message.FullName}.{oneof.Name}", message.File);
        }
        foreach (var nested in message.NestedTypes)
        {
            AddMessage(nested);
        }
        foreach (var enumType in message.EnumTypes)
        {
            AddEnum(enumType, message.FullName);
        }
        foreach (var extension in message.Extensions.UnorderedExtensions)
        {
            AddExtension(extension);
        }
    }

    /// <summary>
    /// Enum values are scoped like their enum's siblings in protobuf ("pkg.Msg.VALUE"), which is the name protoc and
    /// grpc's C++ reflection use; "pkg.Msg.Enum.VALUE" is accepted too.
    /// </summary>
    private void AddEnum(EnumDescriptor enumType, string scope)
    {
        Add(enumType.FullName, enumType.File);
        foreach (var value in enumType.Values)
        {
            Add(scope.Length > 0 ? $"{scope}.{value.Name}" : value.Name, enumType.File);
            Add($"{enumType.FullName}.{value.Name}", enumType.File);
        }
    }

    private void AddExtension(FieldDescriptor extension)
    {
        Add(extension.FullName, extension.File);
        if (extension.ExtendeeType is { } extendee)
        {
            _extensions.TryAdd((extendee.FullName, extension.FieldNumber), extension.File);
        }
    }

    private void Add(string symbol, FileDescriptor file) => _symbols.TryAdd(symbol, file);
}
