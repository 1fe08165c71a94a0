using System.Security.Cryptography;
using System.Text.Json;
using FlashDeal.Contracts.Auth.V1;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Security.Tests.UnitTests;

public sealed class SigningKeyTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("flashdeal-keys-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void LoadsEveryPemFileOfADirectoryWithItsNameAsKid()
    {
        using var pkcs8 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var sec1 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var retired = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        File.WriteAllText(Path.Combine(_directory, "2030-02.pem"), pkcs8.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(_directory, "2030-01.pem"), sec1.ExportECPrivateKeyPem());
        File.WriteAllText(Path.Combine(_directory, "2029-12.pem"), retired.ExportSubjectPublicKeyInfoPem());
        File.WriteAllText(Path.Combine(_directory, "README.txt"), "not a key");

        var set = SigningKeySet.Load(new SigningKeyOptions { Directory = _directory, ActiveKeyId = "2030-02" }, new ListLogger());

        Assert.Equal(["2029-12", "2030-01", "2030-02"], set.Keys.Select(k => k.KeyId));
        Assert.Equal("2030-02", set.Active.KeyId);
        Assert.False(set.Keys[0].CanSign);
        Assert.True(set.Keys[1].CanSign);
        Assert.Equal(Base64UrlX(sec1), set.Keys[1].PublicKey.X);
    }

    [Fact]
    public void LoadsKeysListedInConfigurationInlineOrByPath()
    {
        using var inline = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var file = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var path = Path.Combine(_directory, "secret");
        File.WriteAllText(path, file.ExportPkcs8PrivateKeyPem());

        var set = SigningKeySet.Load(new SigningKeyOptions
        {
            ActiveKeyId = "b",
            Keys = [new() { KeyId = "a", Pem = inline.ExportPkcs8PrivateKeyPem() }, new() { KeyId = "b", Path = path }],
        }, new ListLogger());

        Assert.Equal("b", set.Active.KeyId);
        Assert.Equal(Base64UrlX(file), set.Active.PublicKey.X);
    }

    [Fact]
    public void SeveralPrivateKeysNeedAnExplicitActiveKey()
    {
        File.WriteAllText(Path.Combine(_directory, "a.pem"), ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(_directory, "b.pem"), ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());

        var error = Assert.Throws<InvalidOperationException>(
            () => SigningKeySet.Load(new SigningKeyOptions { Directory = _directory }, new ListLogger()));
        Assert.Contains("ActiveKeyId", error.Message);
    }

    [Fact]
    public void TheKeyDirectoryCanNameTheActiveKeyAndTheSettingWins()
    {
        File.WriteAllText(Path.Combine(_directory, "a.pem"), ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(_directory, "b.pem"), ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(_directory, SigningKeySet.ActiveKeyIdFile), "b\n");

        Assert.Equal("b", SigningKeySet.Load(new SigningKeyOptions { Directory = _directory }, new ListLogger()).Active.KeyId);
        Assert.Equal("a", SigningKeySet.Load(
            new SigningKeyOptions { Directory = _directory, ActiveKeyId = "a" }, new ListLogger()).Active.KeyId);
    }

    [Fact]
    public void TheThumbprintTellsKeyMaterialApartAndSurvivesTheJwks()
    {
        var key = SigningKey.Generate("k1");
        var sameKidOtherKey = SigningKey.Generate("k1");
        var published = Assert.Single(JwksRetriever.Parse(JsonFormatter.Default.Format(new SigningKeySet([key], "k1").ToJwks())));

        Assert.Equal(32, key.Thumbprint().Length);
        Assert.Equal(key.Thumbprint(), published.Thumbprint());
        Assert.NotEqual(key.Thumbprint(), sameKidOtherKey.Thumbprint());
    }

    [Fact]
    public void ActiveKeyMustHaveAPrivateKey()
    {
        File.WriteAllText(Path.Combine(_directory, "a.pem"), ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportSubjectPublicKeyInfoPem());
        Assert.Throws<InvalidOperationException>(
            () => SigningKeySet.Load(new SigningKeyOptions { Directory = _directory, ActiveKeyId = "a" }, new ListLogger()));
    }

    [Fact]
    public void MissingDirectoryFailsInsteadOfFallingBackToAnEphemeralKey()
    {
        Assert.Throws<InvalidOperationException>(() => SigningKeySet.Load(
            new SigningKeyOptions { Directory = Path.Combine(_directory, "absent") }, new ListLogger()));
    }

    [Fact]
    public void WithoutConfiguredKeysAnEphemeralKeyIsGeneratedWithAWarning()
    {
        var logger = new ListLogger();

        var set = SigningKeySet.Load(new SigningKeyOptions(), logger);

        Assert.True(set.Active.CanSign);
        var warning = Assert.Single(logger.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains(set.Active.KeyId, warning.Message);
        Assert.NotEqual(set.Active.KeyId, SigningKeySet.Load(new SigningKeyOptions(), logger).Active.KeyId);
    }

    [Fact]
    public void LogsNeverContainKeyMaterial()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = ecdsa.ExportPkcs8PrivateKeyPem();
        File.WriteAllText(Path.Combine(_directory, "k.pem"), pem);
        var logger = new ListLogger();

        SigningKeySet.Load(new SigningKeyOptions { Directory = _directory }, logger);
        var broken = Assert.Throws<InvalidOperationException>(
            () => SigningKey.FromPem("broken", pem.Replace("MIG", "XXX", StringComparison.Ordinal)));

        var privateScalar = Convert.ToBase64String(ecdsa.ExportParameters(true).D!);
        var pemBody = pem.Split('\n')[1];
        foreach (var text in logger.Entries.Select(e => e.Message).Append(broken.Message))
        {
            Assert.DoesNotContain(pemBody, text);
            Assert.DoesNotContain(privateScalar, text);
            Assert.DoesNotContain("PRIVATE KEY", text);
        }
    }

    [Fact]
    public void JwksHoldsOnlyPublicEs256Members()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var set = new SigningKeySet([new SigningKey("k1", ecdsa), SigningKey.Generate("k2")], "k2");

        var json = JsonFormatter.Default.Format(set.ToJwks());

        using var document = JsonDocument.Parse(json);
        var keys = document.RootElement.GetProperty("keys").EnumerateArray().ToList();
        Assert.Equal(2, keys.Count);
        var first = keys[0];
        Assert.Equal(["kty", "crv", "x", "y", "kid", "alg", "use"], first.EnumerateObject().Select(p => p.Name));
        Assert.Equal("EC", first.GetProperty("kty").GetString());
        Assert.Equal("P-256", first.GetProperty("crv").GetString());
        Assert.Equal("ES256", first.GetProperty("alg").GetString());
        Assert.Equal("sig", first.GetProperty("use").GetString());
        Assert.Equal("k1", first.GetProperty("kid").GetString());
        Assert.Equal(43, first.GetProperty("x").GetString()!.Length);
        Assert.Equal(Base64UrlX(ecdsa), first.GetProperty("x").GetString());
        Assert.DoesNotContain("\"d\"", json);
    }

    [Fact]
    public void PublishedJwkRoundTripsToTheSamePublicKey()
    {
        var key = SigningKey.Generate("k1");
        var parsed = Assert.Single(JwksRetriever.Parse(JsonFormatter.Default.Format(new SigningKeySet([key], "k1").ToJwks())));
        Assert.Equal(key.PublicKey, parsed.PublicKey);
        Assert.False(parsed.CanSign);
    }

    [Fact]
    public void KeysOffCurveP256AreRefused()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Throws<ArgumentException>(() => new SigningKey("k", p384));
        Assert.Throws<ArgumentException>(() => SigningKey.FromPem("k", p384.ExportPkcs8PrivateKeyPem()));
    }

    [Fact]
    public void JwkWhosePointIsNotOnTheCurveIsRefused()
    {
        var jwk = SigningKey.Generate("k").PublicKey.Clone();
        var y = System.Buffers.Text.Base64Url.DecodeFromChars(jwk.Y);
        y[^1] ^= 0x01;
        jwk.Y = System.Buffers.Text.Base64Url.EncodeToString(y);
        Assert.Throws<FormatException>(() => SigningKey.FromJsonWebKey(jwk));
    }

    [Theory]
    [InlineData("RSA", "P-256", "ES256", "sig")]
    [InlineData("EC", "P-384", "ES256", "sig")]
    [InlineData("EC", "P-256", "ES384", "sig")]
    [InlineData("EC", "P-256", "ES256", "enc")]
    public void JwkThatIsNotAnEs256SigningKeyIsRefused(string kty, string crv, string alg, string use)
    {
        var jwk = SigningKey.Generate("k").PublicKey.Clone();
        jwk.Kty = kty;
        jwk.Crv = crv;
        jwk.Alg = alg;
        jwk.Use = use;
        Assert.Throws<FormatException>(() => SigningKey.FromJsonWebKey(jwk));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("../escape")]
    public void KeyIdsAreRestrictedToSafeCharacters(string kid)
    {
        Assert.Throws<ArgumentException>(() => SigningKey.Generate(kid));
    }

    private static string Base64UrlX(ECDsa key) =>
        System.Buffers.Text.Base64Url.EncodeToString(key.ExportParameters(false).Q.X);
}
