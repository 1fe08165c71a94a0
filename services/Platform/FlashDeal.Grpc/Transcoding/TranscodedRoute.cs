using Google.Api;
using Google.Protobuf.Reflection;

namespace FlashDeal.Grpc.Transcoding;

/// <summary>
/// One REST binding of an RPC: a google.api.HttpRule or one of its additional_bindings, checked against the request and
/// response types when the service is mapped so a broken rule fails at startup rather than per request.
/// </summary>
public sealed class TranscodedRoute
{
    private TranscodedRoute(ServiceMethod method, string httpMethod, PathTemplate template, FieldDescriptor[][] variableFields,
        string body, FieldDescriptor? bodyField, FieldDescriptor? responseBodyField)
    {
        Method = method;
        HttpMethod = httpMethod;
        Template = template;
        VariableFields = variableFields;
        Body = body;
        BodyField = bodyField;
        ResponseBodyField = responseBodyField;
        BoundPaths = variableFields.Select(MessageFields.ProtoPath)
            .Concat(bodyField is null ? [] : [bodyField.Name])
            .ToArray();
    }

    public ServiceMethod Method { get; }

    /// <summary>GET, POST, PUT, PATCH, DELETE, or the kind of a custom pattern.</summary>
    public string HttpMethod { get; }

    public PathTemplate Template { get; }

    /// <summary>The field path each template variable sets, in variable order.</summary>
    public IReadOnlyList<FieldDescriptor[]> VariableFields { get; }

    /// <summary>"" (no body), "*" (the whole request) or the name of the top-level request field the body holds.</summary>
    public string Body { get; }

    public FieldDescriptor? BodyField { get; }

    /// <summary>The response field written as the body instead of the whole response, or null.</summary>
    public FieldDescriptor? ResponseBodyField { get; }

    /// <summary>Proto paths of fields set by the path or the body field: query parameters may not name them.</summary>
    public IReadOnlyList<string> BoundPaths { get; }

    public bool BodyIsWholeRequest => Body == "*";

    public override string ToString() => $"{HttpMethod} {Template.Text}";

    /// <summary>The rule and its additional bindings as routes; empty when the method has no http rule.</summary>
    public static IReadOnlyList<TranscodedRoute> FromMethod(ServiceMethod method)
    {
        var rule = method.Descriptor.GetOptions()?.GetExtension(AnnotationsExtensions.Http);
        if (rule is null)
        {
            return [];
        }
        var routes = new List<TranscodedRoute> { Create(method, rule) };
        foreach (var additional in rule.AdditionalBindings)
        {
            routes.Add(Create(method, additional));
        }
        return routes;
    }

    public static TranscodedRoute Create(ServiceMethod method, HttpRule rule)
    {
        var (httpMethod, path) = rule.PatternCase switch
        {
            HttpRule.PatternOneofCase.Get => ("GET", rule.Get),
            HttpRule.PatternOneofCase.Post => ("POST", rule.Post),
            HttpRule.PatternOneofCase.Put => ("PUT", rule.Put),
            HttpRule.PatternOneofCase.Patch => ("PATCH", rule.Patch),
            HttpRule.PatternOneofCase.Delete => ("DELETE", rule.Delete),
            HttpRule.PatternOneofCase.Custom => (rule.Custom.Kind.ToUpperInvariant(), rule.Custom.Path),
            _ => throw Invalid(method, "(no pattern)", "the rule sets no HTTP method and path"),
        };
        var display = $"{httpMethod} {path}";
        if (httpMethod.Length == 0 || !httpMethod.All(char.IsAsciiLetter))
        {
            throw Invalid(method, display, $"'{httpMethod}' is not an HTTP method");
        }
        PathTemplate template;
        try
        {
            template = PathTemplate.Parse(path);
        }
        catch (FormatException e)
        {
            throw Invalid(method, display, e.Message);
        }

        var request = method.Descriptor.InputType;
        var variableFields = new FieldDescriptor[template.Variables.Count][];
        for (var i = 0; i < variableFields.Length; i++)
        {
            var variable = template.Variables[i];
            var fields = MessageFields.Resolve(request, variable.FieldPath, out var problem)
                ?? throw Invalid(method, display, problem);
            var leaf = fields[^1];
            if (leaf.IsRepeated || !FieldValueConverter.Supports(leaf))
            {
                throw Invalid(method, display, $"path field '{variable.FieldPath}' must be a singular scalar field");
            }
            if (!variable.CapturesOneSegment && leaf.FieldType != FieldType.String)
            {
                throw Invalid(method, display, $"'{variable.FieldPath}' captures several segments, so it must be a string");
            }
            variableFields[i] = fields;
        }

        FieldDescriptor? bodyField = null;
        if (rule.Body.Length > 0 && rule.Body != "*")
        {
            bodyField = request.FindFieldByName(rule.Body)
                ?? throw Invalid(method, display, $"body field '{rule.Body}' is not a field of {request.FullName}");
        }
        FieldDescriptor? responseBodyField = null;
        if (rule.ResponseBody.Length > 0)
        {
            var response = method.Descriptor.OutputType;
            responseBodyField = response.FindFieldByName(rule.ResponseBody)
                ?? throw Invalid(method, display,
                    $"response_body field '{rule.ResponseBody}' is not a field of {response.FullName}");
        }
        return new TranscodedRoute(method, httpMethod, template, variableFields, rule.Body, bodyField, responseBodyField);
    }

    private static InvalidOperationException Invalid(ServiceMethod method, string rule, string problem) =>
        new($"The google.api.http rule '{rule}' of {method.FullName} is invalid: {problem}.");
}
