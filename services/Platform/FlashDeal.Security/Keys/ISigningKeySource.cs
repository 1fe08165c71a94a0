namespace FlashDeal.Security;

/// <summary>Finds the public key a token names in its `kid` header.</summary>
public interface ISigningKeySource
{
    /// <summary>
    /// The key with this id, or null when the source does not know it. Throws <see cref="SigningKeysUnavailableException"/>
    /// when the source has no keys at all yet (the auth service was never reachable).
    /// </summary>
    ValueTask<SigningKey?> FindAsync(string keyId, CancellationToken cancellationToken = default);
}

/// <summary>No key set could be loaded yet: the caller should answer UNAVAILABLE, not blame the token.</summary>
public sealed class SigningKeysUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
