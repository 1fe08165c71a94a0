using System.Collections.Concurrent;
using System.Security.Cryptography;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Security;

namespace FlashDeal.Orders.Tests;

/// <summary>
/// Access tokens for test users, signed with a test key the order hosts are configured with
/// (<see cref="Settings"/>: Auth:SigningKeys, docs/security.md), or published by a <see cref="JwksTestServer"/>.
/// </summary>
public sealed class TestTokens
{
    public const string KeyId = "orders-test";
    private const string Issuer = "https://auth.test";
    private const string Audience = "flashdeal-test";

    private readonly ConcurrentDictionary<string, string> _bearers = new();
    private readonly AccessTokenIssuer _issuer;

    private TestTokens()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Pem = key.ExportPkcs8PrivateKeyPem();
        Keys = new SigningKeySet([SigningKey.FromPem(KeyId, Pem)], KeyId);
        _issuer = new AccessTokenIssuer(Keys, new AuthOptions { Issuer = Issuer, Audience = Audience });
    }

    public static TestTokens Shared { get; } = new();

    public string Pem { get; }

    public SigningKeySet Keys { get; }

    /// <summary>Host settings naming the test issuer and its key.</summary>
    public IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Auth:Issuer"] = Issuer,
        ["Auth:Audience"] = Audience,
        ["Auth:SigningKeys:Keys:0:KeyId"] = KeyId,
        ["Auth:SigningKeys:Keys:0:Pem"] = Pem,
    };

    /// <summary>"Bearer …" for the user (one token per user, reused).</summary>
    public string Bearer(string userId) =>
        _bearers.GetOrAdd(userId, id => "Bearer " + _issuer.Issue(id, $"{id}@example.com", Role.Customer).Token);
}
