using BenchmarkDotNet.Attributes;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Security;
using Microsoft.IdentityModel.Tokens;

namespace FlashDeal.Benchmarks;

/// <summary>
/// Token validation as JwtBearer runs it in every service (<see cref="AccessTokenHandler"/>): a full ES256 verification
/// against the validated-token cache that serves a client's repeated token (docs/security.md).
/// </summary>
[MemoryDiagnoser]
public class TokenValidationBenchmarks
{
    private readonly AuthOptions _options = new() { Issuer = "https://auth.bench", Audience = "flashdeal-bench" };
    private AccessTokenHandler _cached = null!;
    private AccessTokenHandler _uncached = null!;
    private TokenValidationParameters _parameters = null!;
    private string _token = "";

    [GlobalSetup]
    public void Setup()
    {
        var key = SigningKey.Generate("bench");
        var keys = new SigningKeySet([key], "bench");
        _token = new AccessTokenIssuer(keys, _options).Issue(Guid.NewGuid().ToString(), "ada@example.com", Role.Customer).Token;
        _parameters = AccessTokenHandler.Parameters(_options);
        _parameters.IssuerSigningKeys = JwksRetriever.FromKeys(keys.Keys).SigningKeys;
        _cached = new AccessTokenHandler(_options);
        _uncached = new AccessTokenHandler(new AuthOptions
        {
            Issuer = _options.Issuer,
            Audience = _options.Audience,
            ValidatedTokenCacheSize = 0,
        });
    }

    [Benchmark(Baseline = true)]
    public async Task<bool> FullEs256Verification() => (await _uncached.ValidateTokenAsync(_token, _parameters)).IsValid;

    [Benchmark]
    public async Task<bool> RepeatedTokenFromTheCache() => (await _cached.ValidateTokenAsync(_token, _parameters)).IsValid;
}
