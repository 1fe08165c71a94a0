using System.Buffers.Text;
using System.Security.Cryptography;
using FlashDeal.Contracts.Auth.V1;
using ECDsaSecurityKey = Microsoft.IdentityModel.Tokens.ECDsaSecurityKey;

namespace FlashDeal.Security;

/// <summary>
/// One ES256 key (P-256) and its `kid`. Holds the private key on the issuer, only the public key on validators.
/// Never logged, never serialized except as its public JWK.
/// </summary>
public sealed class SigningKey
{
    public const string Algorithm = "ES256";
    private const string P256Oid = "1.2.840.10045.3.1.7";
    private const int CoordinateSize = 32;

    public SigningKey(string keyId, ECDsa key)
    {
        if (!IsValidKeyId(keyId))
        {
            throw new ArgumentException(
                $"Key id '{keyId}' must be 1 to 64 characters of letters, digits, '.', '_' or '-'.", nameof(keyId));
        }
        ArgumentNullException.ThrowIfNull(key);
        var parameters = key.ExportParameters(false);
        if (parameters.Curve.Oid?.Value != P256Oid)
        {
            throw new ArgumentException($"Key '{keyId}' is not on curve P-256 (ES256 needs P-256).", nameof(key));
        }
        KeyId = keyId;
        CanSign = HasPrivateKey(key);
        PublicKey = new JsonWebKey
        {
            Kty = "EC",
            Crv = "P-256",
            X = Base64Url.EncodeToString(parameters.Q.X),
            Y = Base64Url.EncodeToString(parameters.Q.Y),
            Kid = keyId,
            Alg = Algorithm,
            Use = "sig",
        };
        SecurityKey = new ECDsaSecurityKey(key) { KeyId = keyId };
    }

    public string KeyId { get; }

    /// <summary>True when the private key is present (an issuer key, not one read from a JWKS).</summary>
    public bool CanSign { get; }

    /// <summary>The public key as published in the JWKS.</summary>
    public JsonWebKey PublicKey { get; }

    /// <summary>
    /// The RFC 7638 JWK thumbprint: SHA-256 of the required public members in lexicographic order. Tells key material
    /// apart where the `kid` alone cannot (a kid reused for a new key).
    /// </summary>
    public byte[] Thumbprint() => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
        $"{{\"crv\":\"{PublicKey.Crv}\",\"kty\":\"{PublicKey.Kty}\",\"x\":\"{PublicKey.X}\",\"y\":\"{PublicKey.Y}\"}}"));

    /// <summary>The IdentityModel form, created once so its crypto providers are cached per key.</summary>
    internal ECDsaSecurityKey SecurityKey { get; }

    public static SigningKey Generate(string keyId) => new(keyId, ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Reads a PKCS#8 ("PRIVATE KEY"), SEC1 ("EC PRIVATE KEY") or public ("PUBLIC KEY") PEM.</summary>
    public static SigningKey FromPem(string keyId, string pem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            // The PEM text is key material: the message names the key, never the content.
            throw new InvalidOperationException($"Signing key '{keyId}' is not a valid EC PEM key.", e);
        }
        return new SigningKey(keyId, key);
    }

    /// <summary>Builds a verification key from a published JWK; rejects anything but an EC P-256 ES256 signing key.</summary>
    public static SigningKey FromJsonWebKey(JsonWebKey jwk)
    {
        if (jwk.Kty != "EC" || jwk.Crv != "P-256")
        {
            throw new FormatException($"JWK '{jwk.Kid}' is {jwk.Kty}/{jwk.Crv}, expected EC/P-256.");
        }
        if (jwk.Alg is not ("" or Algorithm) || jwk.Use is not ("" or "sig"))
        {
            throw new FormatException($"JWK '{jwk.Kid}' has alg '{jwk.Alg}' and use '{jwk.Use}', expected ES256 and sig.");
        }
        var x = DecodeCoordinate(jwk.X, jwk.Kid);
        var y = DecodeCoordinate(jwk.Y, jwk.Kid);
        try
        {
            // Importing checks the point lies on the curve (no invalid-curve keys).
            var key = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = x, Y = y } });
            return new SigningKey(jwk.Kid, key);
        }
        catch (CryptographicException e)
        {
            throw new FormatException($"JWK '{jwk.Kid}' is not a valid P-256 public key.", e);
        }
    }

    public static bool IsValidKeyId(string? keyId) =>
        !string.IsNullOrEmpty(keyId) && keyId.Length <= 64
        && keyId.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static byte[] DecodeCoordinate(string value, string kid)
    {
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(value);
        }
        catch (FormatException e)
        {
            throw new FormatException($"JWK '{kid}' has a coordinate that is not base64url.", e);
        }
        return bytes.Length == CoordinateSize
            ? bytes
            : throw new FormatException($"JWK '{kid}' has a {bytes.Length}-byte coordinate, expected {CoordinateSize}.");
    }

    private static bool HasPrivateKey(ECDsa key)
    {
        try
        {
            return key.ExportParameters(true).D is { Length: > 0 };
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
