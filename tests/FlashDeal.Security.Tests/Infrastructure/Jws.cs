using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlashDeal.Security.Tests;

/// <summary>Builds JWS tokens by hand, so tests can forge exactly the header, payload and signature an attacker would.</summary>
public static class Jws
{
    public static string Encode(JsonObject json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json.ToJsonString()));

    public static JsonObject DecodeSegment(string segment) =>
        JsonNode.Parse(Base64Url.DecodeFromChars(segment))!.AsObject();

    /// <summary>A correctly signed ES256 token over any header and payload.</summary>
    public static string SignEs256(JsonObject header, JsonObject payload, ECDsa key)
    {
        var input = Encode(header) + "." + Encode(payload);
        var signature = key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256);
        return input + "." + Base64Url.EncodeToString(signature);
    }

    public static string SignHs256(JsonObject header, JsonObject payload, byte[] secret)
    {
        var input = Encode(header) + "." + Encode(payload);
        var signature = HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(input));
        return input + "." + Base64Url.EncodeToString(signature);
    }

    public static JsonObject Header(string alg, string? kid) =>
        kid is null ? new JsonObject { ["alg"] = alg, ["typ"] = "JWT" } : new JsonObject { ["alg"] = alg, ["kid"] = kid, ["typ"] = "JWT" };

    /// <summary>Claims of a valid token at <paramref name="now"/>; tests remove or change what they attack.</summary>
    public static JsonObject Payload(DateTimeOffset now, AuthOptions options, string sub = "user-1", string role = Roles.Customer)
    {
        var seconds = now.ToUnixTimeSeconds();
        return new JsonObject
        {
            ["iss"] = options.Issuer,
            ["aud"] = options.Audience,
            ["sub"] = sub,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["iat"] = seconds,
            ["nbf"] = seconds,
            ["exp"] = seconds + 300,
            ["email"] = "ada@example.com",
            ["role"] = role,
        };
    }

    public static string Pretty(JsonObject json) => json.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
