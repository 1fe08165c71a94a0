using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace FlashDeal.Grpc.Transcoding;

/// <summary>
/// Converts the text of a path value or query parameter into the value a field accessor takes, following the proto3 JSON
/// forms: enums by name or number, int64 as decimal text, bytes as (URL-safe) base64, Timestamp/Duration/FieldMask as
/// their JSON strings, wrappers as their wrapped scalar. Throws FormatException with a description of the problem.
/// </summary>
internal static class FieldValueConverter
{
    private static readonly HashSet<string> StringFormTypes =
    [
        Timestamp.Descriptor.FullName, Duration.Descriptor.FullName, FieldMask.Descriptor.FullName,
    ];

    /// <summary>True when a field can be set from text at all.</summary>
    public static bool Supports(FieldDescriptor field) =>
        !field.IsMap && (field.FieldType != FieldType.Message
            || StringFormTypes.Contains(field.MessageType.FullName) || IsWrapper(field.MessageType));

    public static object Convert(FieldDescriptor field, string text, JsonParser parser)
    {
        if (field.FieldType == FieldType.Message)
        {
            var type = field.MessageType;
            if (IsWrapper(type))
            {
                return ConvertScalar(type.Fields.InFieldNumberOrder()[0], text);
            }
            if (StringFormTypes.Contains(type.FullName))
            {
                try
                {
                    return parser.Parse(JsonSerializer.Serialize(text), type);
                }
                catch (Exception e) when (e is InvalidProtocolBufferException or FormatException)
                {
                    throw new FormatException($"'{text}' is not a valid {type.Name}: {e.Message}", e);
                }
            }
            throw new FormatException($"{type.FullName} cannot be given as text; set its fields with dotted names");
        }
        return ConvertScalar(field, text);
    }

    private static object ConvertScalar(FieldDescriptor field, string text)
    {
        const NumberStyles integer = NumberStyles.AllowLeadingSign;
        var culture = CultureInfo.InvariantCulture;
        switch (field.FieldType)
        {
            case FieldType.String:
                return text;
            case FieldType.Bool:
                return text.ToLowerInvariant() switch
                {
                    "true" or "1" => true,
                    "false" or "0" => false,
                    _ => throw Bad(text, "bool (true or false)"),
                };
            case FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32:
                return int.TryParse(text, integer, culture, out var i32) ? i32 : throw Bad(text, "int32");
            case FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64:
                return long.TryParse(text, integer, culture, out var i64) ? i64 : throw Bad(text, "int64");
            case FieldType.UInt32 or FieldType.Fixed32:
                return uint.TryParse(text, NumberStyles.None, culture, out var u32) ? u32 : throw Bad(text, "uint32");
            case FieldType.UInt64 or FieldType.Fixed64:
                return ulong.TryParse(text, NumberStyles.None, culture, out var u64) ? u64 : throw Bad(text, "uint64");
            case FieldType.Double:
                return double.TryParse(text, NumberStyles.Float, culture, out var d) && InRange(d, text)
                    ? d
                    : throw Bad(text, "double");
            case FieldType.Float:
                return float.TryParse(text, NumberStyles.Float, culture, out var f) && InRange(f, text)
                    ? f
                    : throw Bad(text, "float");
            case FieldType.Bytes:
                return ParseBase64(text);
            case FieldType.Enum:
                return ConvertEnum(field.EnumType, text);
            default:
                throw new FormatException($"{field.FieldType} fields cannot be given as text");
        }
    }

    private static object ConvertEnum(EnumDescriptor type, string text)
    {
        var number = type.FindValueByName(text)?.Number;
        if (number is null && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
        {
            number = n;
        }
        if (number is null)
        {
            var names = string.Join(", ", type.Values.Select(v => v.Name));
            throw new FormatException($"'{text}' is not a value of enum {type.FullName} (one of: {names})");
        }
        return System.Enum.ToObject(type.ClrType, number.Value);
    }

    /// <summary>Standard or URL-safe base64, padding optional.</summary>
    private static ByteString ParseBase64(string text)
    {
        var normal = text.Replace('-', '+').Replace('_', '/');
        normal = (normal.Length % 4) switch
        {
            2 => normal + "==",
            3 => normal + "=",
            _ => normal,
        };
        try
        {
            return ByteString.FromBase64(normal);
        }
        catch (FormatException)
        {
            throw Bad(text, "base64 bytes value");
        }
    }

    /// <summary>.NET parses overflowing numbers as infinity; only the literal "Infinity" may mean that.</summary>
    private static bool InRange(double value, string text) =>
        !double.IsInfinity(value) || text.Contains("Infinity", StringComparison.Ordinal);

    private static bool IsWrapper(MessageDescriptor type) =>
        type.File == WrappersReflection.Descriptor;

    private static FormatException Bad(string text, string type) => new($"'{text}' is not a valid {type}");
}
