using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace FlashDeal.Grpc.Transcoding;

/// <summary>
/// Builds the request message of a transcoded call: first the JSON body (whole request or one field), then the path
/// variables (which override the body), then query parameters for the fields neither binds. Every problem is an
/// INVALID_ARGUMENT naming the field or parameter (400), or RESOURCE_EXHAUSTED for a body over the limit (413).
/// </summary>
internal static class RequestBinder
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static async Task<IMessage> BindAsync(HttpContext http, TranscodingRouteMatch match, TranscodingJson json,
        JsonTranscodingOptions options, int maxBodySize, ServerCallContext context)
    {
        var route = match.Route;
        var descriptor = route.Method.Descriptor.InputType;
        IMessage? request = null;
        if (route.Body.Length > 0)
        {
            var body = await ReadBodyAsync(http, maxBodySize, context).ConfigureAwait(false);
            if (!string.IsNullOrWhiteSpace(body))
            {
                request = route.BodyField is { } field
                    ? ParseBodyField(json, descriptor, field, body)
                    : Parse(json, descriptor, body, "");
            }
        }
        request ??= (IMessage)Activator.CreateInstance(descriptor.ClrType)!;

        for (var i = 0; i < route.VariableFields.Count; i++)
        {
            var fields = route.VariableFields[i];
            SetFromText(request, fields, [match.Values[i]], route.Template.Variables[i].FieldPath, json.Parser);
        }
        BindQuery(http.Request.Query, request, route, json.Parser, options.IgnoreUnknownFields);
        return request;
    }

    internal static bool IsJsonParseError(Exception e) =>
        e is InvalidProtocolBufferException or InvalidJsonException or FormatException or InvalidOperationException
            or OverflowException or ArgumentException;

    private static IMessage Parse(TranscodingJson json, MessageDescriptor descriptor, string body, string fieldPrefix)
    {
        try
        {
            return json.Parser.Parse(body, descriptor);
        }
        catch (Exception e) when (IsJsonParseError(e))
        {
            var (field, problem) = JsonErrorLocator.Locate(json.Parser, descriptor, body, e.Message);
            throw BodyError(field.Length == 0 ? fieldPrefix.TrimEnd('.') : fieldPrefix + field, problem);
        }
    }

    /// <summary>
    /// <c>body: "field"</c>: a message field parses directly; any other field (scalar, repeated, map) parses as the
    /// value of that field in an otherwise empty request.
    /// </summary>
    private static IMessage ParseBodyField(TranscodingJson json, MessageDescriptor descriptor, FieldDescriptor field,
        string body)
    {
        var request = (IMessage)Activator.CreateInstance(descriptor.ClrType)!;
        if (field.FieldType == FieldType.Message && !field.IsRepeated && !field.IsMap)
        {
            field.Accessor.SetValue(request, Parse(json, field.MessageType, body, field.Name + "."));
            return request;
        }
        if (JsonErrorLocator.Locate(json.Parser, descriptor, body, "") is ({ Length: 0 }, var syntax)
            && syntax.StartsWith("Malformed", StringComparison.Ordinal))
        {
            throw BodyError("", syntax);
        }
        var wrapped = Parse(json, descriptor, $"{{\"{field.Name}\":{body}}}", "");
        field.Accessor.SetValue(request, field.Accessor.GetValue(wrapped));
        return request;
    }

    internal static void BindQuery(IQueryCollection query, IMessage request, TranscodedRoute route, JsonParser parser,
        bool ignoreUnknown)
    {
        foreach (var (name, values) in query)
        {
            if (route.BodyIsWholeRequest)
            {
                if (ignoreUnknown)
                {
                    continue;
                }
                throw QueryError(name, "query parameters are not allowed: the request body carries every field");
            }
            var fields = MessageFields.Resolve(route.Method.Descriptor.InputType, name, out _);
            if (fields is null)
            {
                if (ignoreUnknown)
                {
                    continue;
                }
                throw QueryError(name, "unknown query parameter");
            }
            var path = MessageFields.ProtoPath(fields);
            var bound = route.BoundPaths.FirstOrDefault(b =>
                b == path || path.StartsWith(b + ".", StringComparison.Ordinal) || b.StartsWith(path + ".", StringComparison.Ordinal));
            if (bound is not null)
            {
                throw QueryError(name, $"the field is already bound by the {(route.BodyField?.Name == bound ? "body" : "path")}");
            }
            var leaf = fields[^1];
            if (!FieldValueConverter.Supports(leaf))
            {
                throw QueryError(name, leaf.IsMap
                    ? "map fields cannot be set from query parameters"
                    : "a message field cannot be set from one parameter; set its fields with dotted names");
            }
            if (!leaf.IsRepeated && values.Count > 1)
            {
                throw QueryError(name, $"the field is not repeated but was given {values.Count} times");
            }
            SetFromText(request, fields, values.Select(v => v ?? "").ToArray(), name, parser);
        }
    }

    private static void SetFromText(IMessage request, FieldDescriptor[] fields, string[] values, string name, JsonParser parser)
    {
        foreach (var text in values)
        {
            object value;
            try
            {
                value = FieldValueConverter.Convert(fields[^1], text, parser);
            }
            catch (FormatException e)
            {
                throw RpcException.InvalidArgument((name, e.Message));
            }
            MessageFields.SetOrAdd(request, fields, value);
        }
    }

    private static async Task<string> ReadBodyAsync(HttpContext http, int limit, ServerCallContext context)
    {
        var request = http.Request;
        if (!IsJson(request.ContentType) && request.ContentLength is not 0)
        {
            context.SetHttpStatusOverride(StatusCodes.Status415UnsupportedMediaType);
            throw new RpcException(StatusCode.InvalidArgument,
                $"Content-Type '{request.ContentType}' is not supported; send application/json.");
        }
        if (request.ContentLength > limit)
        {
            throw TooLarge(context, limit);
        }
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        var reader = request.BodyReader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(context.CancellationToken).ConfigureAwait(false);
                if (result.Buffer.Length > limit)
                {
                    reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                    throw TooLarge(context, limit);
                }
                if (result.IsCompleted)
                {
                    var text = StrictUtf8.GetString(result.Buffer).TrimStart('\uFEFF');
                    reader.AdvanceTo(result.Buffer.End);
                    return text;
                }
                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(context, limit);
        }
        catch (DecoderFallbackException)
        {
            throw BodyError("", "The request body is not valid UTF-8.");
        }
    }

    /// <summary>No Content-Type is taken as JSON; otherwise application/json, text/json or any +json type.</summary>
    private static bool IsJson(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return true;
        }
        var mediaType = contentType.Split(';')[0].Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
               || mediaType.Equals("text/json", StringComparison.OrdinalIgnoreCase)
               || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    private static RpcException TooLarge(ServerCallContext context, int limit)
    {
        context.SetHttpStatusOverride(StatusCodes.Status413PayloadTooLarge);
        return new RpcException(StatusCode.ResourceExhausted, $"Request body is larger than the limit of {limit} bytes.");
    }

    private static RpcException BodyError(string field, string problem) => field.Length == 0
        ? new RpcException(StatusCode.InvalidArgument, $"Invalid JSON request body: {problem}")
        : RpcException.InvalidArgument((field, problem));

    private static RpcException QueryError(string name, string problem) => RpcException.InvalidArgument((name, problem));
}
