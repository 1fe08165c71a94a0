using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;

namespace FlashDeal.Grpc.Transcoding;

/// <summary>
/// The proto3 JSON codec of one service: Google.Protobuf's JsonParser (accepts JSON and original field names) and
/// JsonFormatter (writes lowerCamel JSON names), with a type registry so Any values, error details included, render.
/// </summary>
internal sealed class TranscodingJson
{
    public TranscodingJson(IEnumerable<FileDescriptor> files, JsonTranscodingOptions options)
    {
        Registry = TypeRegistry.FromFiles(files
            .Append(ErrorDetailsReflection.Descriptor)
            .Append(StatusReflection.Descriptor)
            .Concat(options.TypeRegistryFiles)
            .Distinct()
            .ToArray());
        Parser = new JsonParser(JsonParser.Settings.Default
            .WithTypeRegistry(Registry)
            .WithIgnoreUnknownFields(options.IgnoreUnknownFields));
        Formatter = new JsonFormatter(JsonFormatter.Settings.Default
            .WithTypeRegistry(Registry)
            .WithFormatDefaultValues(options.FormatDefaultValues));
    }

    public TypeRegistry Registry { get; }

    public JsonParser Parser { get; }

    public JsonFormatter Formatter { get; }

    /// <summary>Formats a message, or any field value (scalar, list, map, message) for response_body.</summary>
    public string Format(object? value)
    {
        if (value is IMessage message)
        {
            return Formatter.Format(message);
        }
        var writer = new StringWriter();
        Formatter.WriteValue(writer, value!);
        return writer.ToString();
    }

    /// <summary>
    /// The google.rpc.Status JSON of a failed call: code, message and the details whose type is known (others cannot be
    /// rendered as JSON and are left out).
    /// </summary>
    public string FormatStatus(Status status)
    {
        var rpc = new Google.Rpc.Status { Code = (int)status.StatusCode, Message = status.Detail };
        if (status.RichStatus is { } rich)
        {
            rpc.Details.AddRange(rich.Details.Where(d => Registry.Find(Any.GetTypeName(d.TypeUrl)) is not null));
        }
        return Formatter.Format(rpc);
    }
}
