namespace FlashDeal.ServiceDefaults;

/// <summary>The authorization policies every service knows: <c>[Authorize(Policy = AuthPolicies.Admin)]</c>.</summary>
public static class AuthPolicies
{
    /// <summary>An authenticated user whose token carries role "admin".</summary>
    public const string Admin = "admin";
}
