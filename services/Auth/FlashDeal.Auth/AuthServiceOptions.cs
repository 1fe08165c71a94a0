namespace FlashDeal.Auth;

/// <summary>
/// The auth service's own keys in the "Auth" section (issuer, audience, lifetimes and signing keys of access tokens are
/// in <see cref="FlashDeal.Security.AuthOptions"/>, the same section).
/// </summary>
public sealed class AuthServiceOptions
{
    public const string Section = "Auth";

    public PasswordHashOptions Passwords { get; set; } = new();

    /// <summary>Lifetime of each refresh token; every Refresh issues a new one, so an active session slides.</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(14);

    public LogInThrottleOptions LogInThrottle { get; set; } = new();

    public BootstrapAdminOptions BootstrapAdmin { get; set; } = new();
}

public sealed class PasswordHashOptions
{
    /// <summary>PBKDF2-SHA256 iterations for new hashes; stored hashes with fewer are upgraded at the next log-in.</summary>
    public int Iterations { get; set; } = Accounts.PasswordHasher.DefaultIterations;

    /// <summary>Hashes computed at once; 0 (the default) means one per processor. Log-ins and sign-ups beyond it wait.</summary>
    public int MaxConcurrent { get; set; }

    /// <summary>Log-ins and sign-ups waiting for a hashing slot before more are refused (RESOURCE_EXHAUSTED).</summary>
    public int MaxQueued { get; set; } = 1000;

    /// <summary>How long one waits for a hashing slot before it is refused (RESOURCE_EXHAUSTED, retry after this long).</summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Failed log-ins allowed per window before LogIn answers RESOURCE_EXHAUSTED.</summary>
public sealed class LogInThrottleOptions
{
    public int MaxFailuresPerAccount { get; set; } = 5;

    public int MaxFailuresPerAddress { get; set; } = 50;

    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a counter script may take before this process counts the attempt itself (Redis presumed down).</summary>
    public TimeSpan RedisTimeout { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>The first admin account, created (or promoted) at start-up. Unset email: nothing happens.</summary>
public sealed class BootstrapAdminOptions
{
    public string? Email { get; set; }

    public string? Password { get; set; }

    public string? DisplayName { get; set; }
}
