using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace FlashDeal.Auth.Throttling;

/// <summary>A counted log-in attempt; hand it back with <see cref="LogInThrottle.SucceededAsync"/> when it succeeds.</summary>
public sealed class LogInAttempt
{
    internal LogInAttempt(string accountKey, string addressKey, bool countedInProcess, ThrottleDecision decision)
    {
        AccountKey = accountKey;
        AddressKey = addressKey;
        CountedInProcess = countedInProcess;
        Decision = decision;
    }

    public ThrottleDecision Decision { get; }

    internal string AccountKey { get; }

    internal string AddressKey { get; }

    internal RedisKey[] Keys => [AccountKey, AddressKey];

    internal bool CountedInProcess { get; }
}

/// <summary>
/// Brute-force protection for LogIn: fixed-window counters per account (normalized email, hashed) and per client
/// address in Redis, checked and counted atomically by one script before the password is looked at. When Redis cannot
/// be reached the counting moves into this process (logged), so log-in neither fails nor goes unthrottled.
/// </summary>
public sealed class LogInThrottle(
    IConnectionMultiplexer redis,
    IOptions<AuthServiceOptions> options,
    TimeProvider time,
    ILogger<LogInThrottle> logger)
{
    // One hash tag for every key: both keys of a script must live in one Redis Cluster slot. Log-in traffic is small
    // next to the order path, so one shard carrying it is fine.
    private const string KeyPrefix = "{auth-login}:";
    private static readonly TimeSpan WarningInterval = TimeSpan.FromSeconds(30);
    private static readonly string BeginScript = LoadScript("begin_login_attempt.lua");
    private static readonly string EndScript = LoadScript("end_login_attempt.lua");
    private static readonly string WithdrawScript = LoadScript("withdraw_login_attempt.lua");

    private readonly LogInThrottleOptions _limits = options.Value.LogInThrottle;
    private readonly InProcessAttemptCounter _local = new(time);
    private readonly Lock _warningGate = new();
    private DateTimeOffset _lastWarning = DateTimeOffset.MinValue;
    private volatile bool _redisFailing;

    public static string AccountKey(string normalizedEmail) =>
        KeyPrefix + "account:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalizedEmail)))[..32];

    public static string AddressKey(string clientAddress) => KeyPrefix + "address:" + clientAddress;

    public async Task<LogInAttempt> BeginAsync(string normalizedEmail, string clientAddress)
    {
        var accountKey = AccountKey(normalizedEmail);
        var addressKey = AddressKey(clientAddress);
        if (!redis.IsConnected)
        {
            // Not even queued: StackExchange.Redis would hold the script while disconnected and run it after
            // reconnecting, counting an attempt a second time after this process has counted it.
            return CountInProcess(accountKey, addressKey, "not connected");
        }
        try
        {
            var result = (RedisResult[]?)await redis.GetDatabase()
                .ScriptEvaluateAsync(BeginScript, [accountKey, addressKey],
                    [_limits.MaxFailuresPerAccount, _limits.MaxFailuresPerAddress, (long)_limits.Window.TotalMilliseconds])
                .WaitAsync(_limits.RedisTimeout);
            RedisIsBack();
            var decision = (long)result![0] == 1
                ? ThrottleDecision.Allow
                : ThrottleDecision.Blocked(TimeSpan.FromMilliseconds((long)result[1]),
                    (long)result[2] == 1 ? ThrottleScope.Account : ThrottleScope.Address);
            return new LogInAttempt(accountKey, addressKey, countedInProcess: false, decision);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            return CountInProcess(accountKey, addressKey, e.Message);
        }
    }

    private LogInAttempt CountInProcess(string accountKey, string addressKey, string redisError)
    {
        RedisFailed(redisError);
        return new LogInAttempt(accountKey, addressKey, countedInProcess: true,
            _local.TryBegin(accountKey, addressKey, _limits));
    }

    /// <summary>The password was right: forgive the account's failures and give the address its attempt back.</summary>
    public Task SucceededAsync(LogInAttempt attempt) => EndAsync(attempt, EndScript, _local.End, "reset log-in counters");

    /// <summary>The password was never checked (no hashing slot was free): the attempt counts against nobody.</summary>
    public Task WithdrawAsync(LogInAttempt attempt) => EndAsync(attempt, WithdrawScript, _local.Withdraw, "withdraw a log-in attempt");

    /// <summary>Hands an attempt back where it was counted: this process, or Redis through <paramref name="script"/>.</summary>
    private async Task EndAsync(LogInAttempt attempt, string script, Action<string, string> inProcess, string what)
    {
        if (attempt.CountedInProcess)
        {
            inProcess(attempt.AccountKey, attempt.AddressKey);
            return;
        }
        try
        {
            await redis.GetDatabase().ScriptEvaluateAsync(script, attempt.Keys).WaitAsync(_limits.RedisTimeout);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            // The counters expire with their window; an end that could not be recorded costs nothing more.
            logger.LogDebug("Could not {What} in Redis: {Error}", what, e.Message);
        }
    }

    private static bool IsRedisFailure(Exception e) => e is RedisException or TimeoutException;

    private void RedisFailed(string error)
    {
        _redisFailing = true;
        lock (_warningGate)
        {
            var now = time.GetUtcNow();
            if (now - _lastWarning < WarningInterval)
            {
                return;
            }
            _lastWarning = now;
        }
        logger.LogWarning("Redis is unavailable for log-in throttling ({Error}); counting attempts in this process " +
            "until it is back", error);
    }

    private void RedisIsBack()
    {
        if (_redisFailing)
        {
            _redisFailing = false;
            logger.LogInformation("Log-in throttling is counting in Redis again");
        }
    }

    private static string LoadScript(string name)
    {
        using var stream = typeof(LogInThrottle).Assembly.GetManifestResourceStream($"FlashDeal.Auth.Throttling.{name}")
            ?? throw new InvalidOperationException($"Script {name} is not embedded.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
