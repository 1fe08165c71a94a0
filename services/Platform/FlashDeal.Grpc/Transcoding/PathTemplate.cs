namespace FlashDeal.Grpc.Transcoding;

public enum TemplateSegmentKind
{
    Literal,

    /// <summary><c>*</c>: exactly one non-empty segment.</summary>
    Wildcard,

    /// <summary><c>**</c>: zero or more segments.</summary>
    MultiWildcard,
}

public readonly record struct TemplateSegment(TemplateSegmentKind Kind, string Literal = "");

/// <summary>A <c>{field.path=...}</c> of a template: the field it sets and the template segments [Start, End) it captures.</summary>
public sealed record TemplateVariable(string FieldPath, int Start, int End, bool CapturesOneSegment);

/// <summary>
/// A google.api.http path template (<c>/v1/{name=shelves/*/books/*}:move</c>), parsed per the grammar in http.proto:
/// <c>Template = "/" Segments [ Verb ]</c>, segments are literals, <c>*</c>, <c>**</c> or <c>{field=Segments}</c>.
/// Literals and verbs match case-insensitively, like ASP.NET Core routes.
/// </summary>
public sealed class PathTemplate
{
    private readonly TemplateSegment[] _segments;
    private readonly int _multiWildcard;

    private PathTemplate(string text, TemplateSegment[] segments, TemplateVariable[] variables, string? verb)
    {
        Text = text;
        _segments = segments;
        Variables = variables;
        Verb = verb;
        _multiWildcard = Array.FindIndex(segments, s => s.Kind == TemplateSegmentKind.MultiWildcard);
    }

    public string Text { get; }

    public IReadOnlyList<TemplateSegment> Segments => _segments;

    public IReadOnlyList<TemplateVariable> Variables { get; }

    /// <summary>The custom verb after the last ':' (<c>pay</c> in <c>/v1/orders/{id}:pay</c>), or null.</summary>
    public string? Verb { get; }

    public override string ToString() => Text;

    /// <summary>Parses a template; throws FormatException naming the problem.</summary>
    public static PathTemplate Parse(string text)
    {
        if (string.IsNullOrEmpty(text) || text[0] != '/')
        {
            throw Invalid(text, "it must start with '/'");
        }
        var body = text[1..];
        string? verb = null;
        var colon = body.LastIndexOf(':');
        if (colon >= 0 && colon > body.LastIndexOf('/') && colon > body.LastIndexOf('}'))
        {
            verb = body[(colon + 1)..];
            body = body[..colon];
            if (verb.Length == 0 || verb.IndexOfAny(['*', '{', '}']) >= 0)
            {
                throw Invalid(text, $"'{verb}' is not a valid verb");
            }
        }

        var segments = new List<TemplateSegment>();
        var variables = new List<TemplateVariable>();
        var i = 0;
        while (true)
        {
            if (i < body.Length && body[i] == '{')
            {
                var close = body.IndexOf('}', i);
                if (close < 0)
                {
                    throw Invalid(text, "a '{' is not closed");
                }
                var inner = body[(i + 1)..close];
                var eq = inner.IndexOf('=');
                var field = eq < 0 ? inner : inner[..eq];
                if (!IsFieldPath(field))
                {
                    throw Invalid(text, $"'{field}' is not a field path");
                }
                if (variables.Any(v => v.FieldPath == field))
                {
                    throw Invalid(text, $"field '{field}' is bound twice");
                }
                var start = segments.Count;
                if (eq < 0)
                {
                    segments.Add(new TemplateSegment(TemplateSegmentKind.Wildcard));
                }
                else
                {
                    foreach (var part in inner[(eq + 1)..].Split('/'))
                    {
                        segments.Add(ParseSegment(text, part));
                    }
                }
                var captured = segments.Skip(start).ToArray();
                var oneSegment = captured.Length == 1 && captured[0].Kind != TemplateSegmentKind.MultiWildcard;
                variables.Add(new TemplateVariable(field, start, segments.Count, oneSegment));
                i = close + 1;
            }
            else
            {
                var slash = body.IndexOf('/', i);
                var end = slash < 0 ? body.Length : slash;
                segments.Add(ParseSegment(text, body[i..end]));
                i = end;
            }
            if (i == body.Length)
            {
                break;
            }
            if (body[i] != '/')
            {
                throw Invalid(text, $"expected '/' at position {i + 1}");
            }
            i++;
        }
        if (segments.Count(s => s.Kind == TemplateSegmentKind.MultiWildcard) > 1)
        {
            throw Invalid(text, "'**' may appear only once");
        }
        return new PathTemplate(text, segments.ToArray(), variables.ToArray(), verb);
    }

    /// <summary>
    /// Matches a request path. On success <paramref name="values"/> holds one decoded value per variable: single-segment
    /// captures are fully URL-decoded, multi-segment captures keep their '/' separators and any encoded %2F.
    /// </summary>
    public bool TryMatch(RequestPath path, out string[] values)
    {
        values = [];
        string[] request;
        if (Verb is null)
        {
            request = path.Segments;
        }
        else
        {
            if (path.Verb is null || !string.Equals(path.Verb, Verb, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
            request = path.SegmentsBeforeVerb!;
        }

        var n = _segments.Length;
        var m = request.Length;
        if (_multiWildcard < 0 ? m != n : m < n - 1)
        {
            return false;
        }
        for (var t = 0; t < n; t++)
        {
            var segment = _segments[t];
            if (segment.Kind == TemplateSegmentKind.MultiWildcard)
            {
                continue;
            }
            var r = RequestIndex(t, m);
            var ok = segment.Kind == TemplateSegmentKind.Wildcard
                ? request[r].Length > 0
                : string.Equals(RequestPath.Decode(request[r]), segment.Literal, StringComparison.OrdinalIgnoreCase);
            if (!ok)
            {
                return false;
            }
        }

        values = new string[Variables.Count];
        for (var v = 0; v < values.Length; v++)
        {
            var variable = Variables[v];
            var start = RequestIndex(variable.Start, m);
            var end = variable.End <= _multiWildcard || _multiWildcard < 0 ? variable.End : variable.End + m - n;
            values[v] = variable.CapturesOneSegment
                ? RequestPath.Decode(request[start])
                : RequestPath.DecodeKeepingSlashes(string.Join('/', request, start, end - start));
        }
        return true;
    }

    /// <summary>
    /// Positive when this template is more specific than <paramref name="other"/> for a path both match: a matching verb
    /// wins, then segment by segment a literal beats '*' which beats '**', then the longer template.
    /// </summary>
    public int CompareSpecificity(PathTemplate other)
    {
        var verb = (Verb is not null).CompareTo(other.Verb is not null);
        if (verb != 0)
        {
            return verb;
        }
        var count = Math.Min(_segments.Length, other._segments.Length);
        for (var i = 0; i < count; i++)
        {
            var rank = Rank(_segments[i].Kind).CompareTo(Rank(other._segments[i].Kind));
            if (rank != 0)
            {
                return rank;
            }
        }
        return _segments.Length.CompareTo(other._segments.Length);

        static int Rank(TemplateSegmentKind kind) => kind switch
        {
            TemplateSegmentKind.Literal => 2,
            TemplateSegmentKind.Wildcard => 1,
            _ => 0,
        };
    }

    /// <summary>
    /// An ASP.NET Core route pattern that matches at least every path this template matches: the leading literal segments,
    /// then a catch-all. The exact match is decided by <see cref="TryMatch"/> when an endpoint is selected.
    /// </summary>
    public string ToRoutePattern()
    {
        var literalCount = 0;
        while (literalCount < _segments.Length
               && _segments[literalCount].Kind == TemplateSegmentKind.Literal
               && IsPlainLiteral(_segments[literalCount].Literal))
        {
            literalCount++;
        }
        if (Verb is not null && literalCount == _segments.Length)
        {
            literalCount--;
        }
        var prefix = string.Concat(_segments.Take(literalCount).Select(s => "/" + s.Literal));
        return literalCount == _segments.Length && Verb is null ? prefix : prefix + "/{**transcodedPath}";
    }

    private int RequestIndex(int templateIndex, int requestCount) =>
        _multiWildcard < 0 || templateIndex <= _multiWildcard
            ? templateIndex
            : templateIndex + requestCount - _segments.Length;

    private static TemplateSegment ParseSegment(string text, string part) => part switch
    {
        "*" => new TemplateSegment(TemplateSegmentKind.Wildcard),
        "**" => new TemplateSegment(TemplateSegmentKind.MultiWildcard),
        "" => throw Invalid(text, "it has an empty segment"),
        _ when part.IndexOfAny(['*', '{', '}', '=', '?', '#']) >= 0 => throw Invalid(text, $"'{part}' is not a valid segment"),
        _ => new TemplateSegment(TemplateSegmentKind.Literal, RequestPath.Decode(part)),
    };

    private static bool IsFieldPath(string path) =>
        path.Length > 0 && path.Split('.').All(p =>
            p.Length > 0 && (char.IsAsciiLetter(p[0]) || p[0] == '_') && p.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'));

    /// <summary>Literals made of unreserved characters read the same to ASP.NET Core routing and to this matcher.</summary>
    private static bool IsPlainLiteral(string literal) =>
        literal.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~');

    private static FormatException Invalid(string text, string problem) =>
        new($"Invalid HTTP path template '{text}': {problem}.");
}
