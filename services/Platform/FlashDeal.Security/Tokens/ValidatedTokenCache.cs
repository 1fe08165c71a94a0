using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.IdentityModel.Tokens;

namespace FlashDeal.Security;

/// <summary>
/// Remembers tokens that passed full validation until they expire, so a client that sends the same token on every call
/// costs one ES256 verification per replica, not one per call (a verification costs 40-200 µs of CPU on this machine
/// class, a lookup next to nothing). Only exact token strings that validated are kept; expiry is checked on every hit.
/// A key removed from the JWKS stops new tokens at once, and cached ones within their (short) lifetime.
/// </summary>
internal sealed class ValidatedTokenCache(int capacity)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public int Count => _entries.Count;

    public bool TryGet(string token, DateTime now, out ClaimsIdentity identity, out SecurityToken securityToken)
    {
        if (_entries.TryGetValue(token, out var entry))
        {
            if (now <= entry.ValidUntil)
            {
                // A copy per call: ASP.NET Core may add claims to the principal of one request.
                identity = entry.Identity.Clone();
                securityToken = entry.Token;
                return true;
            }
            _entries.TryRemove(token, out _);
        }
        identity = null!;
        securityToken = null!;
        return false;
    }

    /// <summary>Keeps the identity until <paramref name="validUntil"/> (exp plus clock skew).</summary>
    public void Add(string token, ClaimsIdentity identity, SecurityToken securityToken, DateTime validUntil, DateTime now)
    {
        if (capacity <= 0)
        {
            return;
        }
        if (_entries.Count >= capacity)
        {
            Evict(now);
        }
        _entries[token] = new Entry(identity.Clone(), securityToken, validUntil);
    }

    // Rare (only when full): drop expired entries; if that frees too little, start over rather than track recency.
    private void Evict(DateTime now)
    {
        foreach (var (token, entry) in _entries)
        {
            if (entry.ValidUntil < now)
            {
                _entries.TryRemove(token, out _);
            }
        }
        if (_entries.Count >= capacity * 9 / 10)
        {
            _entries.Clear();
        }
    }

    private sealed record Entry(ClaimsIdentity Identity, SecurityToken Token, DateTime ValidUntil);
}
