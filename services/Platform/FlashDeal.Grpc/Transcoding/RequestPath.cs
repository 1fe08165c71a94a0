using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace FlashDeal.Grpc.Transcoding;

/// <summary>
/// A request path split into its raw (still percent-encoded) segments, plus the same split with a trailing ":verb" cut off
/// the last segment. Raw segments keep an encoded '/' or ':' distinguishable from a separator.
/// </summary>
public sealed class RequestPath
{
    private RequestPath(string[] segments, string[]? segmentsBeforeVerb, string? verb)
    {
        Segments = segments;
        SegmentsBeforeVerb = segmentsBeforeVerb;
        Verb = verb;
    }

    public string[] Segments { get; }

    /// <summary>The segments with the verb cut off, or null when the last segment has no ':'.</summary>
    public string[]? SegmentsBeforeVerb { get; }

    /// <summary>The decoded text after the last ':' of the last segment, or null.</summary>
    public string? Verb { get; }

    /// <summary>Splits a raw path ("/v1/deals/abc:watch", no query string).</summary>
    public static RequestPath Parse(string rawPath)
    {
        var path = rawPath.StartsWith('/') ? rawPath[1..] : rawPath;
        var segments = path.Split('/');
        var last = segments[^1];
        var colon = last.LastIndexOf(':');
        if (colon < 0)
        {
            return new RequestPath(segments, null, null);
        }
        var before = (string[])segments.Clone();
        before[^1] = last[..colon];
        return new RequestPath(segments, before, Decode(last[(colon + 1)..]));
    }

    /// <summary>The path of the current request, parsed once and cached on the HttpContext.</summary>
    public static RequestPath Get(HttpContext http)
    {
        if (http.Features.Get<RequestPath>() is { } cached)
        {
            return cached;
        }
        var parsed = Parse(RawPath(http));
        http.Features.Set(parsed);
        return parsed;
    }

    /// <summary>Fully URL-decodes one segment (an encoded '/' becomes '/').</summary>
    public static string Decode(string raw) => raw.Contains('%') ? Uri.UnescapeDataString(raw) : raw;

    /// <summary>URL-decodes a multi-segment capture except %2F, which stays encoded as http.proto asks.</summary>
    public static string DecodeKeepingSlashes(string raw)
    {
        if (!raw.Contains('%'))
        {
            return raw;
        }
        var pieces = raw.Split(["%2F", "%2f"], StringSplitOptions.None);
        return string.Join("%2F", pieces.Select(Uri.UnescapeDataString));
    }

    /// <summary>
    /// The raw request target's path (before '?'), which keeps %2F and %3A apart from '/' and ':'. Falls back to the
    /// re-encoded decoded path when the app runs under a path base or the target is not in origin form.
    /// </summary>
    private static string RawPath(HttpContext http)
    {
        var raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (http.Request.PathBase.HasValue || string.IsNullOrEmpty(raw) || raw[0] != '/')
        {
            return http.Request.Path.ToUriComponent();
        }
        var query = raw.IndexOf('?');
        return query < 0 ? raw : raw[..query];
    }
}
