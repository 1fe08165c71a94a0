namespace FlashDeal.Grpc.Transcoding;

/// <summary>Every REST route mapped on this server: used to answer 405 with the methods a path allows.</summary>
public sealed class TranscodingRouteTable
{
    private readonly List<TranscodedRoute> _routes = [];
    private readonly object _gate = new();
    private int _fallbackMapped;

    public IReadOnlyList<TranscodedRoute> Routes
    {
        get
        {
            lock (_gate)
            {
                return _routes.ToArray();
            }
        }
    }

    /// <summary>True exactly once: whoever gets it maps the JSON 404/405 fallback endpoint.</summary>
    internal bool TryClaimFallback() => Interlocked.Exchange(ref _fallbackMapped, 1) == 0;

    public void Add(TranscodedRoute route)
    {
        lock (_gate)
        {
            var same = _routes.FirstOrDefault(r =>
                r.HttpMethod == route.HttpMethod && r.Template.Text.Equals(route.Template.Text, StringComparison.OrdinalIgnoreCase));
            if (same is not null)
            {
                throw new InvalidOperationException(
                    $"REST route {route} of {route.Method.FullName} is already mapped by {same.Method.FullName}.");
            }
            _routes.Add(route);
        }
    }

    /// <summary>The HTTP methods of routes whose template matches <paramref name="path"/>.</summary>
    public IReadOnlyList<string> AllowedMethods(RequestPath path)
    {
        lock (_gate)
        {
            return _routes.Where(r => r.Template.TryMatch(path, out _))
                .Select(r => r.HttpMethod)
                .Distinct()
                .Order(StringComparer.Ordinal)
                .ToArray();
        }
    }
}
