using System.Security.Cryptography;
using System.Text;
using FlashDeal.Auth.Infrastructure;
using FlashDeal.Security;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FlashDeal.Auth.Keys;

/// <summary>
/// The auth service's signing keys, rotated in two phases without a restart (docs/auth.md, "Signing-key rotation").
/// Every configured key is published in the JWKS as soon as this process reads it; the key meant to sign
/// (<see cref="SigningKeySet.ActiveKeyId"/>) signs only once it has been published for
/// Auth:SigningKeys:PublishBeforeSigning, counted from its first publication by any replica (auth.signing_keys, so
/// replicas agree and a restart does not start the wait again). Until then the key that signed before keeps signing
/// (the newest private key published that long, else the earliest one published before the meant key): tokens never
/// carry a kid a validator has not had the chance to fetch. With no earlier key (a new installation) the meant key
/// signs at once. While no publication time can be read (PostgreSQL unreachable), another private key signs if there is one. The key directory (a mounted Secret, which the kubelet updates
/// in place) is read again every ReloadInterval: added keys are published, removed keys leave the JWKS.
/// </summary>
public sealed class SigningKeyRotation(
    IOptions<AuthOptions> options,
    SigningKeyQueries publications,
    TimeProvider time,
    ILogger<SigningKeyRotation> logger) : BackgroundService, ISigningKeySource
{
    private static readonly TimeSpan RecordTimeout = TimeSpan.FromSeconds(5);

    // Local-clock time each key was first published (by any replica), by kid and thumbprint.
    private readonly Dictionary<string, DateTimeOffset> _publishedAt = new(StringComparer.Ordinal);
    private readonly SigningKeyOptions _options = options.Value.SigningKeys;
    private SigningKeySet? _current;
    private List<SigningKey> _keys = [];
    private List<SigningKey>? _installedKeys;
    private string _meantId = "";
    private string _fingerprint = "";
    private string _rejectedFingerprint = "";
    private string? _announcedWait;
    private DateTimeOffset? _switchAt;

    public SigningKeySet Current =>
        Volatile.Read(ref _current) ?? throw new InvalidOperationException("The signing keys are not loaded yet.");

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.PublishBeforeSigning < TimeSpan.Zero || _options.ReloadInterval <= TimeSpan.Zero)
        {
            throw new InvalidOperationException(
                "Auth:SigningKeys:PublishBeforeSigning must not be negative and Auth:SigningKeys:ReloadInterval must be positive.");
        }
        _fingerprint = Fingerprint();
        var keys = SigningKeySet.ReadKeys(_options);
        if (keys.Count == 0)
        {
            // One local process: nothing to rotate, nothing to record.
            Volatile.Write(ref _current, SigningKeySet.Ephemeral(logger));
            return;
        }
        Accept(keys);
        await RecordAsync(cancellationToken);
        Select();
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var delay = _options.ReloadInterval;
            if (_switchAt is { } switchAt && switchAt - time.GetUtcNow() is var untilSwitch && untilSwitch < delay)
            {
                delay = untilSwitch > TimeSpan.Zero ? untilSwitch : TimeSpan.Zero;
            }
            await Task.Delay(delay, time, stoppingToken);
            try
            {
                await ReloadAsync(stoppingToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A read racing the kubelet's swap of the Secret's files: the next pass reads the finished state.
                logger.LogDebug("Could not read the signing key directory ({Error}); reading it again shortly", e.Message);
            }
        }
    }

    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        var fingerprint = Fingerprint();
        if (fingerprint != _fingerprint && fingerprint != _rejectedFingerprint)
        {
            try
            {
                var keys = SigningKeySet.ReadKeys(_options);
                if (keys.Count == 0)
                {
                    throw new InvalidOperationException("No signing key is left in the configured keys.");
                }
                Accept(keys);
                _fingerprint = fingerprint;
                logger.LogInformation("Signing keys changed: {KeyIds} published, {KeyId} meant to sign",
                    string.Join(", ", keys.Select(k => k.KeyId).Order(StringComparer.Ordinal)), _meantId);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                // A broken edit of the Secret (a bad PEM, a file name that is no kid) must not take the service down:
                // the last good keys stay, said once.
                _rejectedFingerprint = fingerprint;
                logger.LogError("Signing keys not reloaded, the previous ones stay in use: {Error}", e.Message);
            }
        }
        if (_keys.Any(k => !_publishedAt.ContainsKey(Id(k.KeyId, k.Thumbprint()))))
        {
            await RecordAsync(cancellationToken);
        }
        Select();
    }

    /// <summary>Takes a new list of keys; throws (naming the problem, never the key) when the meant key cannot sign.</summary>
    private void Accept(List<SigningKey> keys)
    {
        var meant = SigningKeySet.ActiveKeyId(_options, keys);
        _ = new SigningKeySet(keys, meant);
        _keys = keys;
        _meantId = meant;
    }

    /// <summary>Records keys not seen before; a database that cannot be reached leaves them unrecorded (and not signing).</summary>
    private async Task RecordAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RecordTimeout);
        try
        {
            var found = await publications.RecordAsync(
                [.. _keys.Select(k => (k.KeyId, k.Thumbprint()))], timeout.Token);
            // The age is by the database clock; anchoring it to this clock after the answer errs on the late side.
            var now = time.GetUtcNow();
            foreach (var publication in found)
            {
                _publishedAt[Id(publication.KeyId, publication.Thumbprint)] = now - publication.Age;
            }
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            logger.LogWarning("Could not record the signing keys' publication in PostgreSQL yet ({Error}); a key not " +
                "recorded does not start signing until it is", e.Message);
        }
    }

    /// <summary>Chooses the signer and installs the set; logs when the signer changes and when a key waits to sign.</summary>
    private void Select()
    {
        var now = time.GetUtcNow();
        var wait = _options.PublishBeforeSigning;
        var meant = _keys.First(k => k.KeyId == _meantId);
        var signer = meant;
        _switchAt = null;
        if (!PublishedLongEnough(meant))
        {
            // The key that signed before: the newest one validators have had the time to fetch, or, when a rotation
            // follows an installation within the wait, the first key (it has been signing since the installation).
            var meantAt = PublishedAt(meant);
            var earlier = _keys.Where(k => k.CanSign && k.KeyId != meant.KeyId
                                           && PublishedAt(k) is { } at && (meantAt is null || at < meantAt)).ToList();
            var fallback = earlier.Where(PublishedLongEnough).MaxBy(PublishedAt) ?? earlier.MinBy(PublishedAt);
            if (fallback is null && meantAt is null)
            {
                // Nothing known (PostgreSQL unreachable since start-up): the meant key may be the new one, so another
                // private key is the safer signer until the record succeeds — the one signing before, else the first.
                var signing = Volatile.Read(ref _current)?.Active.KeyId;
                fallback = _keys.Where(k => k.CanSign && k.KeyId != meant.KeyId)
                    .OrderBy(k => k.KeyId == signing ? 0 : 1).ThenBy(k => k.KeyId, StringComparer.Ordinal)
                    .FirstOrDefault();
            }
            if (fallback is not null)
            {
                signer = fallback;
                _switchAt = PublishedAt(meant) + wait;
                if (_announcedWait != meant.KeyId)
                {
                    _announcedWait = meant.KeyId;
                    logger.LogInformation("Signing key {KeyId} is published and signs once it has been published for " +
                        "{Wait} (Auth:SigningKeys:PublishBeforeSigning), at {SwitchAt:O}; {Signer} signs until then",
                        meant.KeyId, wait, _switchAt, signer.KeyId);
                }
            }
        }
        if (signer == meant)
        {
            _announcedWait = null;
        }
        var previous = Volatile.Read(ref _current);
        if (previous?.Active.KeyId != signer.KeyId)
        {
            logger.LogInformation("Signing with key {KeyId} from now on", signer.KeyId);
        }
        else if (ReferenceEquals(_installedKeys, _keys))
        {
            // Nothing changed: keep the set (and the validation configuration built from it).
            return;
        }
        _installedKeys = _keys;
        Volatile.Write(ref _current, new SigningKeySet(_keys, signer.KeyId));

        bool PublishedLongEnough(SigningKey key) =>
            wait <= TimeSpan.Zero || (PublishedAt(key) is { } at && now - at >= wait);
    }

    private DateTimeOffset? PublishedAt(SigningKey key) =>
        _publishedAt.TryGetValue(Id(key.KeyId, key.Thumbprint()), out var at) ? at : null;

    private static string Id(string keyId, byte[] thumbprint) => keyId + ":" + Convert.ToHexString(thumbprint);

    /// <summary>What the configured key files hold now: names and contents, hashed.</summary>
    private string Fingerprint()
    {
        var files = new List<string>();
        if (!string.IsNullOrEmpty(_options.Directory) && Directory.Exists(_options.Directory))
        {
            files.AddRange(Directory.GetFiles(_options.Directory, "*.pem"));
            files.Add(Path.Combine(_options.Directory, SigningKeySet.ActiveKeyIdFile));
        }
        files.AddRange(_options.Keys.Select(k => k.Path).OfType<string>().Where(p => p.Length > 0));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(file + "\n"));
            if (File.Exists(file))
            {
                hash.AppendData(SHA256.HashData(File.ReadAllBytes(file)));
            }
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
