namespace FlashDeal.Security;

/// <summary>No signing keys could be loaded (auth's JWKS unreachable since start-up): retryable, not the token's fault.</summary>
public sealed class SigningKeysUnavailableException()
    : Exception("Signing keys are not available yet; retry later.");
