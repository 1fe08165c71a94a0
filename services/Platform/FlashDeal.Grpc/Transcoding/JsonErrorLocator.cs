using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace FlashDeal.Grpc.Transcoding;

/// <summary>
/// JsonParser reports what went wrong but not where. After a failed parse this finds the field: it checks the JSON
/// syntax, then re-parses each property alone, descending into nested objects and arrays, until it finds the innermost
/// property that fails. Only runs on the error path.
/// </summary>
internal static class JsonErrorLocator
{
    /// <summary>The JSON field path of the problem ("" when it concerns the whole document) and its description.</summary>
    public static (string Field, string Problem) Locate(JsonParser parser, MessageDescriptor descriptor, string json,
        string fallbackProblem)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            return ("", $"Malformed JSON: {e.Message}");
        }
        using (document)
        {
            return Find(parser, descriptor, document.RootElement, "") ?? ("", fallbackProblem);
        }
    }

    private static (string, string)? Find(JsonParser parser, MessageDescriptor descriptor, JsonElement element, string prefix)
    {
        if (descriptor.File.Package == "google.protobuf")
        {
            return null;
        }
        if (element.ValueKind != JsonValueKind.Object)
        {
            return (prefix.TrimEnd('.'), $"Expected a JSON object for {descriptor.FullName}, got {element.ValueKind}");
        }
        foreach (var property in element.EnumerateObject())
        {
            var path = prefix + property.Name;
            var single = $"{{{JsonSerializer.Serialize(property.Name)}:{property.Value.GetRawText()}}}";
            var error = TryParse(parser, descriptor, single);
            if (error is null)
            {
                continue;
            }
            var field = MessageFields.Find(descriptor, property.Name);
            if (field is { FieldType: FieldType.Message, IsMap: false })
            {
                if (!field.IsRepeated && property.Value.ValueKind == JsonValueKind.Object)
                {
                    var inner = Find(parser, field.MessageType, property.Value, path + ".");
                    if (inner is not null)
                    {
                        return inner;
                    }
                }
                else if (field.IsRepeated && property.Value.ValueKind == JsonValueKind.Array)
                {
                    var index = 0;
                    foreach (var item in property.Value.EnumerateArray())
                    {
                        var inner = item.ValueKind == JsonValueKind.Object
                            ? Find(parser, field.MessageType, item, $"{path}[{index}].")
                            : null;
                        if (inner is not null)
                        {
                            return inner;
                        }
                        index++;
                    }
                }
            }
            return (path, error);
        }
        return null;
    }

    private static string? TryParse(JsonParser parser, MessageDescriptor descriptor, string json)
    {
        try
        {
            parser.Parse(json, descriptor);
            return null;
        }
        catch (Exception e) when (RequestBinder.IsJsonParseError(e))
        {
            return e.Message;
        }
    }
}
