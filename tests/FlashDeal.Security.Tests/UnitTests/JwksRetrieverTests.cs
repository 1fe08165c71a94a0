using System.Text.Json.Nodes;
using Google.Protobuf;
using Microsoft.IdentityModel.Protocols;

namespace FlashDeal.Security.Tests.UnitTests;

/// <summary>What validators take from a JWKS document: ES256 (EC P-256) signing keys with a usable kid, nothing else.</summary>
public sealed class JwksRetrieverTests
{
    private static string Document(params JsonNode[] keys) => new JsonObject { ["keys"] = new JsonArray(keys) }.ToJsonString();

    private static JsonNode Jwk(SigningKey key) => JsonNode.Parse(JsonFormatter.Default.Format(key.PublicKey))!;

    [Fact]
    public void PublishedKeysAreRead()
    {
        var a = SigningKey.Generate("a");
        var b = SigningKey.Generate("b");

        var keys = JwksRetriever.Parse(Document(Jwk(a), Jwk(b)));

        Assert.Equal(["a", "b"], keys.Select(k => k.KeyId));
        Assert.All(keys, k => Assert.False(k.CanSign));
    }

    [Fact]
    public void ForeignAndBrokenKeysAreSkipped()
    {
        var good = SigningKey.Generate("good");
        var rsa = JsonNode.Parse("""{"kty":"RSA","kid":"rsa","n":"sXch","e":"AQAB","alg":"RS256","use":"sig"}""")!;
        var p384 = Jwk(good)!.DeepClone();
        p384["kid"] = "p384";
        p384["crv"] = "P-384";
        var encryption = Jwk(good)!.DeepClone();
        encryption["kid"] = "enc";
        encryption["use"] = "enc";
        var offCurve = Jwk(good)!.DeepClone();
        offCurve["kid"] = "off-curve";
        offCurve["y"] = offCurve["x"]!.GetValue<string>();
        var badKid = Jwk(good)!.DeepClone();
        badKid["kid"] = "../../etc/passwd";

        var keys = JwksRetriever.Parse(Document(rsa, p384, encryption, offCurve, badKid, Jwk(good)));

        Assert.Equal(["good"], keys.Select(k => k.KeyId));
    }

    [Fact]
    public async Task DocumentWithoutUsableKeysIsAnError()
    {
        var retriever = new JwksRetriever();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            retriever.GetConfigurationAsync("http://jwks.test/keys", new FixedDocument("""{"keys":[]}"""), default));
        Assert.Contains("no ES256", error.Message);
    }

    [Fact]
    public async Task ConfigurationHoldsTheKeysForJwtBearer()
    {
        var key = SigningKey.Generate("k1");
        var configuration = await new JwksRetriever().GetConfigurationAsync("http://jwks.test/keys",
            new FixedDocument(Document(Jwk(key))), default);

        Assert.Equal("k1", Assert.Single(configuration.SigningKeys).KeyId);
        Assert.Equal("http://jwks.test/keys", configuration.JwksUri);
    }

    private sealed class FixedDocument(string json) : IDocumentRetriever
    {
        public Task<string> GetDocumentAsync(string address, CancellationToken cancel) => Task.FromResult(json);
    }
}
