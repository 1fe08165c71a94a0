using System.Buffers.Text;
using System.Security.Cryptography;

namespace FlashDeal.Auth.Sessions;

/// <summary>
/// A refresh token is 256 random bits, base64url (43 characters). The client holds the token; the database holds only
/// its SHA-256, which is enough: the token has full entropy, so no salt or slow hash is needed.
/// </summary>
public static class RefreshTokenValue
{
    private const int Size = 32;
    public const int TextLength = 43;

    public static (string Token, byte[] Hash) Generate()
    {
        Span<byte> secret = stackalloc byte[Size];
        RandomNumberGenerator.Fill(secret);
        var token = Base64Url.EncodeToString(secret);
        var hash = SHA256.HashData(secret);
        CryptographicOperations.ZeroMemory(secret);
        return (token, hash);
    }

    /// <summary>The stored form of <paramref name="token"/>, or null when it cannot be one of ours.</summary>
    public static byte[]? HashOf(string? token)
    {
        if (token is null || token.Length != TextLength)
        {
            return null;
        }
        Span<byte> secret = stackalloc byte[Size];
        if (Base64Url.DecodeFromChars(token, secret, out var consumed, out var written) != System.Buffers.OperationStatus.Done
            || consumed != TextLength || written != Size)
        {
            return null;
        }
        // Re-encoding must give the same text: stray bits in the last character would make two texts one token.
        if (Base64Url.EncodeToString(secret) != token)
        {
            return null;
        }
        return SHA256.HashData(secret);
    }
}
