using FlashDeal.Contracts.Auth.V1;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Security;

/// <summary>
/// Where the issuer's current keys come from: a fixed <see cref="SigningKeySet"/>, or the auth service's rotation, which
/// swaps in a new set when the key directory changes or a newly published key may start signing.
/// </summary>
public interface ISigningKeySource
{
    SigningKeySet Current { get; }
}

/// <summary>
/// The issuer's keys: all of them are published (rotation keeps the previous key until its tokens have expired), one
/// of them signs. Also the key source of the auth service itself, which needs no HTTP round trip to its own JWKS.
/// </summary>
public sealed class SigningKeySet : ISigningKeySource
{
    /// <summary>A file in the key directory naming the key that should sign, when Auth:SigningKeys:ActiveKeyId is not set.</summary>
    public const string ActiveKeyIdFile = "active-kid";

    private readonly Dictionary<string, SigningKey> _byId;

    public SigningKeySet(IEnumerable<SigningKey> keys, string activeKeyId)
    {
        _byId = [];
        foreach (var key in keys)
        {
            if (!_byId.TryAdd(key.KeyId, key))
            {
                throw new InvalidOperationException($"Signing key id '{key.KeyId}' is configured twice.");
            }
        }
        if (!_byId.TryGetValue(activeKeyId, out var active))
        {
            throw new InvalidOperationException($"Active signing key '{activeKeyId}' is not among the configured keys.");
        }
        if (!active.CanSign)
        {
            throw new InvalidOperationException($"Active signing key '{activeKeyId}' has no private key.");
        }
        Active = active;
        Keys = [.. _byId.Values.OrderBy(k => k.KeyId, StringComparer.Ordinal)];
    }

    /// <summary>Signs new tokens.</summary>
    public SigningKey Active { get; }

    /// <summary>Every published key, ordered by id.</summary>
    public IReadOnlyList<SigningKey> Keys { get; }

    SigningKeySet ISigningKeySource.Current => this;

    /// <summary>The JWKS document (served at /.well-known/jwks.json): public keys only.</summary>
    public GetJwksResponse ToJwks()
    {
        var jwks = new GetJwksResponse();
        jwks.Keys.AddRange(Keys.Select(k => k.PublicKey));
        return jwks;
    }

    /// <summary>
    /// Loads the configured keys (directory of "&lt;kid&gt;.pem" files, then listed keys). With none configured it
    /// generates an ephemeral key and warns: fine for one local process, wrong for several replicas or restarts.
    /// </summary>
    public static SigningKeySet Load(SigningKeyOptions options, ILogger logger)
    {
        var keys = ReadKeys(options);
        if (keys.Count == 0)
        {
            return Ephemeral(logger);
        }
        var set = new SigningKeySet(keys, ActiveKeyId(options, keys));
        logger.LogInformation("Loaded signing keys {KeyIds}; {ActiveKeyId} signs",
            string.Join(", ", set.Keys.Select(k => k.KeyId)), set.Active.KeyId);
        return set;
    }

    /// <summary>The configured keys as they are now: the directory's "&lt;kid&gt;.pem" files, then the listed keys.</summary>
    public static List<SigningKey> ReadKeys(SigningKeyOptions options)
    {
        var keys = new List<SigningKey>();
        if (!string.IsNullOrEmpty(options.Directory))
        {
            if (!System.IO.Directory.Exists(options.Directory))
            {
                throw new InvalidOperationException($"Signing key directory '{options.Directory}' does not exist.");
            }
            // Top level only: a mounted Secret also holds "..data" folders with the same files.
            foreach (var file in System.IO.Directory.GetFiles(options.Directory, "*.pem").Order(StringComparer.Ordinal))
            {
                keys.Add(SigningKey.FromPem(Path.GetFileNameWithoutExtension(file), File.ReadAllText(file)));
            }
        }
        foreach (var entry in options.Keys)
        {
            var pem = entry.Pem ?? (entry.Path is { Length: > 0 } path
                ? File.ReadAllText(path)
                : throw new InvalidOperationException($"Signing key '{entry.KeyId}' needs Pem or Path."));
            keys.Add(SigningKey.FromPem(entry.KeyId, pem));
        }
        return keys;
    }

    /// <summary>
    /// The key meant to sign: Auth:SigningKeys:ActiveKeyId, else the kid in the directory's "active-kid" file (so a
    /// rotation can be done by editing the Secret alone), else the only private key.
    /// </summary>
    public static string ActiveKeyId(SigningKeyOptions options, IReadOnlyList<SigningKey> keys)
    {
        if (!string.IsNullOrEmpty(options.ActiveKeyId))
        {
            return options.ActiveKeyId;
        }
        if (!string.IsNullOrEmpty(options.Directory)
            && Path.Combine(options.Directory, ActiveKeyIdFile) is var file && File.Exists(file)
            && File.ReadAllText(file).Trim() is { Length: > 0 } fromFile)
        {
            return fromFile;
        }
        var signers = keys.Where(k => k.CanSign).ToList();
        return signers.Count == 1
            ? signers[0].KeyId
            : throw new InvalidOperationException($"{signers.Count} private signing keys are configured: set " +
                $"Auth:SigningKeys:ActiveKeyId (or the key directory's {ActiveKeyIdFile} file) to the one that signs.");
    }

    /// <summary>A key made up for this process alone, with a warning.</summary>
    public static SigningKeySet Ephemeral(ILogger logger)
    {
        var ephemeral = SigningKey.Generate($"dev-{Guid.NewGuid():N}"[..16]);
        logger.LogWarning(
            "No signing keys configured (Auth:SigningKeys); generated ephemeral key {KeyId}. Tokens will not survive " +
            "a restart and other replicas cannot verify them. Configure keys for anything but local development.",
            ephemeral.KeyId);
        return new SigningKeySet([ephemeral], ephemeral.KeyId);
    }
}
