using System.Collections;
using System.Collections.Concurrent;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace FlashDeal.Grpc.Transcoding;

/// <summary>Finds fields by proto or JSON name and sets values along dotted field paths.</summary>
internal static class MessageFields
{
    private static readonly ConcurrentDictionary<MessageDescriptor, Dictionary<string, FieldDescriptor>> ByName = new();

    /// <summary>Finds a field by its proto name (<c>page_size</c>) or JSON name (<c>pageSize</c>).</summary>
    public static FieldDescriptor? Find(MessageDescriptor message, string name) =>
        ByName.GetOrAdd(message, static d =>
        {
            var map = new Dictionary<string, FieldDescriptor>(StringComparer.Ordinal);
            foreach (var field in d.Fields.InDeclarationOrder())
            {
                map.TryAdd(field.Name, field);
                map.TryAdd(field.JsonName, field);
            }
            return map;
        }).GetValueOrDefault(name);

    /// <summary>
    /// Resolves "a.b.c": every segment but the last must be a singular message field. Returns null and a reason when the
    /// path does not name a field.
    /// </summary>
    public static FieldDescriptor[]? Resolve(MessageDescriptor message, string path, out string problem)
    {
        var names = path.Split('.');
        var fields = new FieldDescriptor[names.Length];
        var current = message;
        for (var i = 0; i < names.Length; i++)
        {
            var field = current is null ? null : Find(current, names[i]);
            if (field is null)
            {
                problem = i == 0
                    ? $"{message.FullName} has no field '{names[i]}'"
                    : $"'{string.Join('.', names, 0, i)}' has no field '{names[i]}'";
                return null;
            }
            if (i < names.Length - 1 && (field.FieldType != FieldType.Message || field.IsRepeated || field.IsMap))
            {
                problem = $"'{string.Join('.', names, 0, i + 1)}' is not a singular message field";
                return null;
            }
            fields[i] = field;
            current = field.FieldType == FieldType.Message ? field.MessageType : null;
        }
        problem = "";
        return fields;
    }

    /// <summary>The message that holds the last field of <paramref name="path"/>, creating parents on the way.</summary>
    public static IMessage GetOrCreateParent(IMessage root, FieldDescriptor[] path)
    {
        var current = root;
        for (var i = 0; i < path.Length - 1; i++)
        {
            var accessor = path[i].Accessor;
            if (accessor.GetValue(current) is not IMessage child)
            {
                child = (IMessage)Activator.CreateInstance(path[i].MessageType.ClrType)!;
                accessor.SetValue(current, child);
            }
            current = child;
        }
        return current;
    }

    /// <summary>Sets a singular field, or appends to a repeated one.</summary>
    public static void SetOrAdd(IMessage root, FieldDescriptor[] path, object value)
    {
        var parent = GetOrCreateParent(root, path);
        var field = path[^1];
        if (field.IsRepeated)
        {
            ((IList)field.Accessor.GetValue(parent)).Add(value);
        }
        else
        {
            field.Accessor.SetValue(parent, value);
        }
    }

    /// <summary>Proto names of a resolved path ("shelf.shelf_id"), the form used to compare bindings.</summary>
    public static string ProtoPath(FieldDescriptor[] path) => string.Join('.', path.Select(f => f.Name));
}
