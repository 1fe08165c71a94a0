using System.Security.Claims;
using FlashDeal.Contracts.Auth.V1;

namespace FlashDeal.Security;

/// <summary>The caller proven by a valid access token.</summary>
public sealed record AuthenticatedUser(string UserId, string Email, Role Role)
{
    public const string AuthenticationType = "Bearer";

    /// <summary>The user of an authenticated principal (JwtBearer's HttpContext.User), or null when there is none.</summary>
    public static AuthenticatedUser? FromPrincipal(ClaimsPrincipal? principal)
    {
        if (principal?.Identity is not { IsAuthenticated: true } || principal.FindFirst(JwtClaims.Subject)?.Value is not
            { Length: > 0 } subject)
        {
            return null;
        }
        return new AuthenticatedUser(subject, principal.FindFirst(JwtClaims.Email)?.Value ?? "",
            Roles.FromClaimValue(principal.FindFirst(JwtClaims.Role)?.Value));
    }

    public bool IsAdmin => Role == Role.Admin;

    public bool IsInRole(string role) => Roles.ToClaimValue(Role) == role;

    /// <summary>For ASP.NET Core (HttpContext.User), logs and telemetry: claims named as in the token.</summary>
    public ClaimsPrincipal ToClaimsPrincipal()
    {
        var claims = new List<Claim> { new(JwtClaims.Subject, UserId) };
        if (Email.Length > 0)
        {
            claims.Add(new Claim(JwtClaims.Email, Email));
        }
        if (Roles.ToClaimValue(Role) is { Length: > 0 } role)
        {
            claims.Add(new Claim(JwtClaims.Role, role));
        }
        return new ClaimsPrincipal(new ClaimsIdentity(claims, AuthenticationType, JwtClaims.Subject, JwtClaims.Role));
    }
}

/// <summary>Values of the `role` claim, as used in [Authorize(Roles = Roles.Admin)].</summary>
public static class Roles
{
    public const string Customer = "customer";
    public const string Admin = "admin";

    public static string ToClaimValue(Role role) => role switch
    {
        Role.Customer => Customer,
        Role.Admin => Admin,
        _ => "",
    };

    /// <summary>Unknown or missing values give Role.Unspecified, which satisfies no role requirement.</summary>
    public static Role FromClaimValue(string? value) => value switch
    {
        Customer => Role.Customer,
        Admin => Role.Admin,
        _ => Role.Unspecified,
    };
}

/// <summary>Claim names FlashDeal access tokens carry.</summary>
public static class JwtClaims
{
    public const string Subject = "sub";
    public const string Email = "email";
    public const string Role = "role";
    public const string TokenId = "jti";
}
