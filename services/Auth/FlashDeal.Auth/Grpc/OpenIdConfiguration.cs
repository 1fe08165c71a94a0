using System.Text.Json;
using FlashDeal.Security;
using Microsoft.Extensions.Options;

namespace FlashDeal.Auth.Grpc;

/// <summary>
/// A minimal OpenID Provider Metadata document (/.well-known/openid-configuration): the issuer, where its keys are and
/// how tokens are signed, so standard validators (JwtBearer with Authority, API gateways) can be pointed at auth.
/// FlashDeal's own services read the JWKS directly (Auth:JwksUrl).
/// </summary>
public static class OpenIdConfiguration
{
    public static async Task Write(HttpContext http, IOptions<AuthOptions> options)
    {
        var request = http.Request;
        var jwks = $"{request.Scheme}://{request.Host}{request.PathBase}/.well-known/jwks.json";
        http.Response.ContentType = "application/json";
        http.Response.Headers.CacheControl = "public, max-age=300";
        await using var json = new Utf8JsonWriter(http.Response.Body);
        json.WriteStartObject();
        json.WriteString("issuer", options.Value.Issuer);
        json.WriteString("jwks_uri", jwks);
        json.WriteStartArray("id_token_signing_alg_values_supported");
        json.WriteStringValue(SigningKey.Algorithm);
        json.WriteEndArray();
        json.WriteStartArray("response_types_supported");
        json.WriteStringValue("token");
        json.WriteEndArray();
        json.WriteStartArray("subject_types_supported");
        json.WriteStringValue("public");
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
