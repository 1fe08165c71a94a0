using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FlashDeal.Data;

/// <summary>Where the next page starts: the sort key and id of the last row of the previous page (keyset pagination).</summary>
public readonly record struct PageCursor<TKey>(TKey SortKey, Guid Id);

/// <summary>
/// Opaque <c>page_token</c> values for keyset pagination. A token is base64url of a version byte, a small JSON payload
/// <c>{"k":sortKey,"i":id}</c> and an 8-byte SHA-256 tag over the payload and a scope. The scope names the query
/// ("catalog.ListDeals" plus its filters), so a token from one listing is refused by another, and any edited or
/// truncated token is refused. The tag is a checksum, not a signature: a token grants nothing that the query, which
/// re-applies the caller's own filters, would not.
/// </summary>
public static class PageToken
{
    /// <summary>Longer input is refused before decoding.</summary>
    public const int MaxLength = 512;

    private const byte FormatVersion = 1;
    private const int TagLength = 8;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static string Encode<TKey>(TKey sortKey, Guid id, string scope)
    {
        ArgumentNullException.ThrowIfNull(sortKey);
        var payload = JsonSerializer.SerializeToUtf8Bytes(new Payload<TKey>(sortKey, id), Json);
        var token = new byte[1 + payload.Length + TagLength];
        token[0] = FormatVersion;
        payload.CopyTo(token, 1);
        Tag(scope, token.AsSpan(0, 1 + payload.Length)).CopyTo(token.AsSpan(1 + payload.Length));
        return Base64Url.EncodeToString(token);
    }

    public static string Encode<TKey>(PageCursor<TKey> cursor, string scope) => Encode(cursor.SortKey, cursor.Id, scope);

    /// <summary>Null for an empty token (the first page); otherwise the cursor the token was made from.</summary>
    /// <exception cref="InvalidPageTokenException">The token is garbage, was edited, or belongs to another query.</exception>
    public static PageCursor<TKey>? Decode<TKey>(string? token, string scope)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }
        if (token.Length > MaxLength || !Base64Url.IsValid(token))
        {
            throw new InvalidPageTokenException();
        }
        var bytes = Base64Url.DecodeFromChars(token);
        if (bytes.Length <= 1 + TagLength || bytes[0] != FormatVersion)
        {
            throw new InvalidPageTokenException();
        }
        var body = bytes.AsSpan(0, bytes.Length - TagLength);
        if (!CryptographicOperations.FixedTimeEquals(Tag(scope, body), bytes.AsSpan(body.Length)))
        {
            throw new InvalidPageTokenException();
        }
        try
        {
            var payload = JsonSerializer.Deserialize<Payload<TKey>>(body[1..], Json);
            return payload is { K: not null } ? new PageCursor<TKey>(payload.K, payload.I) : throw new InvalidPageTokenException();
        }
        catch (JsonException e)
        {
            throw new InvalidPageTokenException(e);
        }
    }

    private static byte[] Tag(string scope, ReadOnlySpan<byte> body)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(scope));
        hash.AppendData([0]);
        hash.AppendData(body);
        return hash.GetHashAndReset()[..TagLength];
    }

    private sealed record Payload<TKey>([property: JsonRequired] TKey K, [property: JsonRequired] Guid I);
}
