using System.Collections.Concurrent;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Security;

namespace FlashDeal.Orders.Tests;

/// <summary>
/// Access tokens for test users, signed with a test key that in-process order hosts trust directly
/// (<see cref="OrdersHost"/>) and child processes fetch from a JwksEndpoint.
/// </summary>
public sealed class TestTokens
{
    public const string KeyId = "orders-test";
    public const string Issuer = "https://auth.test";
    public const string Audience = "flashdeal-test";

    private readonly ConcurrentDictionary<string, string> _bearers = new();
    private readonly AccessTokenIssuer _issuer;

    private TestTokens()
    {
        Keys = new SigningKeySet([SigningKey.Generate(KeyId)], KeyId);
        // Tokens are cached per user for the whole run, which outlasts the 5-minute default on a busy machine.
        _issuer = new AccessTokenIssuer(Keys,
            new AuthOptions { Issuer = Issuer, Audience = Audience, AccessTokenLifetime = TimeSpan.FromHours(4) });
    }

    public static TestTokens Shared { get; } = new();

    public SigningKeySet Keys { get; }

    /// <summary>Host settings naming the test issuer and audience.</summary>
    public IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Auth:Issuer"] = Issuer,
        ["Auth:Audience"] = Audience,
    };

    /// <summary>"Bearer …" for an admin (role "admin"), e.g. to create coupon campaigns.</summary>
    public string AdminBearer(string userId) =>
        _bearers.GetOrAdd("admin:" + userId, _ => "Bearer " + _issuer.Issue(userId, $"{userId}@example.com", Role.Admin).Token);

    /// <summary>"Bearer …" for the user (one token per user, reused).</summary>
    public string Bearer(string userId) =>
        _bearers.GetOrAdd(userId, id => "Bearer " + _issuer.Issue(id, $"{id}@example.com", Role.Customer).Token);
}
