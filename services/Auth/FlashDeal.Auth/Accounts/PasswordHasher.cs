using System.Globalization;
using System.Security.Cryptography;

namespace FlashDeal.Auth.Accounts;

public enum PasswordVerification
{
    Failed,
    Success,

    /// <summary>Correct, but hashed with fewer iterations than configured now: store a new hash.</summary>
    SuccessRehashNeeded,
}

/// <summary>
/// PBKDF2-HMAC-SHA256 with a random 16-byte salt, stored as a self-describing string
/// <c>pbkdf2-sha256$&lt;iterations&gt;$&lt;salt base64&gt;$&lt;hash base64&gt;</c>, so the iteration count can rise over
/// time: old hashes still verify and are upgraded at the next successful log-in.
/// </summary>
public sealed class PasswordHasher
{
    public const string Scheme = "pbkdf2-sha256";

    /// <summary>OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.</summary>
    public const int DefaultIterations = 210_000;

    /// <summary>A stored hash claiming more is corrupt (or hostile): it would pin a core for minutes.</summary>
    public const int MaxIterations = 10_000_000;

    private const int SaltSize = 16;
    private const int HashSize = 32;

    private static readonly HashAlgorithmName Algorithm = HashAlgorithmName.SHA256;

    private readonly Lazy<string> _dummyHash;

    public PasswordHasher(PasswordHashOptions options)
    {
        if (options.Iterations is < 1 or > MaxIterations)
        {
            throw new InvalidOperationException($"Auth:Passwords:Iterations must be between 1 and {MaxIterations}.");
        }
        Iterations = options.Iterations;
        _dummyHash = new Lazy<string>(() => Hash(Convert.ToHexString(RandomNumberGenerator.GetBytes(16))));
    }

    public int Iterations { get; }

    public string Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltSize);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, Iterations, Algorithm, HashSize);
        return string.Join('$', Scheme, Iterations.ToString(CultureInfo.InvariantCulture),
            Convert.ToBase64String(salt), Convert.ToBase64String(hash));
    }

    public PasswordVerification Verify(string password, string encodedHash)
    {
        if (!TryDecode(encodedHash, out var iterations, out var salt, out var expected))
        {
            return PasswordVerification.Failed;
        }
        var actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, Algorithm, expected.Length);
        if (!CryptographicOperations.FixedTimeEquals(actual, expected))
        {
            return PasswordVerification.Failed;
        }
        return iterations < Iterations ? PasswordVerification.SuccessRehashNeeded : PasswordVerification.Success;
    }

    /// <summary>
    /// Spends the time of a real verification for a log-in whose account does not exist, so response times do not tell
    /// which emails have accounts.
    /// </summary>
    public void VerifyNothing(string password) => Verify(password, _dummyHash.Value);

    /// <summary>What <see cref="VerifyNothing"/> verifies against: a hash of a random password at today's cost.</summary>
    internal string DummyHash => _dummyHash.Value;

    /// <summary>The iteration count recorded in an encoded hash, or null when it is not one of ours.</summary>
    public static int? IterationsOf(string encodedHash) =>
        TryDecode(encodedHash, out var iterations, out _, out _) ? iterations : null;

    private static bool TryDecode(string encoded, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = hash = [];
        var parts = encoded.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out iterations)
            || iterations is < 1 or > MaxIterations)
        {
            return false;
        }
        salt = new byte[parts[2].Length];
        hash = new byte[parts[3].Length];
        if (!Convert.TryFromBase64String(parts[2], salt, out var saltLength) || saltLength < 8
            || !Convert.TryFromBase64String(parts[3], hash, out var hashLength) || hashLength < 16)
        {
            return false;
        }
        salt = salt[..saltLength];
        hash = hash[..hashLength];
        return true;
    }
}
