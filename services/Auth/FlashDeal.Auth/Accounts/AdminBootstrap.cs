using FlashDeal.Auth.Infrastructure;
using FlashDeal.Contracts.Auth.V1;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FlashDeal.Auth.Accounts;

/// <summary>
/// Makes sure the admin named in Auth:BootstrapAdmin exists, on every start (idempotent, safe with several replicas):
/// creates it with the configured password, or promotes an existing account with that email, but only when the
/// configured password is also that account's password, so someone who registered the address first gains nothing.
/// Bad settings stop the start-up; an unreachable or unmigrated database is retried in the background.
/// </summary>
public sealed class AdminBootstrap(
    AccountService accounts,
    UserQueries users,
    PasswordHasher hasher,
    IOptions<AuthServiceOptions> options,
    ILogger<AdminBootstrap> logger) : BackgroundService
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private (string Email, string Password, string DisplayName)? _admin;

    /// <summary>Completes once the admin exists (or none is configured).</summary>
    public Task Completion => _completion.Task;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _admin = Validate(options.Value.BootstrapAdmin);
        if (_admin is null)
        {
            _completion.TrySetResult();
            return Task.CompletedTask;
        }
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            for (var delay = TimeSpan.FromSeconds(1); !await TryEnsureAdminAsync(stoppingToken);
                 delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks)))
            {
                await Task.Delay(delay, stoppingToken);
            }
            _completion.TrySetResult();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _completion.TrySetCanceled(stoppingToken);
        }
        catch (Exception e)
        {
            _completion.TrySetException(e);
            throw;
        }
    }

    private async Task<bool> TryEnsureAdminAsync(CancellationToken cancellationToken)
    {
        try
        {
            await EnsureAdminAsync(_admin!.Value, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Could not set up the bootstrap admin yet ({Error}); retrying", e.Message);
            return false;
        }
    }

    private async Task EnsureAdminAsync((string Email, string Password, string DisplayName) admin,
        CancellationToken cancellationToken)
    {
        if (await accounts.CreateAsync(admin.Email, admin.Password, admin.DisplayName, Role.Admin, cancellationToken)
            is { } created)
        {
            logger.LogInformation("Created the bootstrap admin {Email} ({UserId})", created.Email, created.UserId);
            return;
        }
        var existing = await users.FindByEmailAsync(admin.Email, cancellationToken)
            ?? throw new InvalidOperationException($"Account {admin.Email} vanished while the bootstrap admin was set up.");
        if (existing.Role == Role.Admin)
        {
            logger.LogDebug("Bootstrap admin {Email} exists", admin.Email);
            return;
        }
        if (hasher.Verify(admin.Password, existing.PasswordHash) == PasswordVerification.Failed)
        {
            logger.LogError("Account {Email} exists with another password: it is NOT made an admin. Set " +
                "Auth:BootstrapAdmin:Password to that account's password, or use another email", admin.Email);
            return;
        }
        await users.PromoteToAdminAsync(existing.UserId, cancellationToken);
        logger.LogInformation("Promoted {Email} ({UserId}) to admin", existing.Email, existing.UserId);
    }

    private static (string Email, string Password, string DisplayName)? Validate(BootstrapAdminOptions settings)
    {
        if (string.IsNullOrWhiteSpace(settings.Email))
        {
            return null;
        }
        var email = EmailAddress.Normalize(settings.Email);
        if (EmailAddress.Problem(email) is { } emailProblem)
        {
            throw new InvalidOperationException($"Auth:BootstrapAdmin:Email {emailProblem}.");
        }
        // The message names the setting, never its value.
        if (PasswordPolicy.Problem(settings.Password ?? "", email) is { } passwordProblem)
        {
            throw new InvalidOperationException($"Auth:BootstrapAdmin:Password {passwordProblem}.");
        }
        var displayName = DisplayName.Resolve(settings.DisplayName, email);
        if (DisplayName.Problem(displayName) is { } nameProblem)
        {
            throw new InvalidOperationException($"Auth:BootstrapAdmin:DisplayName {nameProblem}.");
        }
        return (email, settings.Password!, displayName);
    }
}
