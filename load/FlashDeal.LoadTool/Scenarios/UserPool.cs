using System.Globalization;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Load;
using FlashDeal.LoadTool.Api;

namespace FlashDeal.LoadTool.Scenarios;

/// <summary>A signed-in load user. Tokens are replaced by Refresh, so they are read and written under the lock.</summary>
public sealed class UserSession(int index, string email, string userId, TokenGrant token)
{
    private TokenGrant _token = token;

    public int Index { get; } = index;

    public string Email { get; } = email;

    public string UserId { get; } = userId;

    public string AccessToken => Volatile.Read(ref _token).AccessToken;

    public string RefreshToken => Volatile.Read(ref _token).RefreshToken;

    public void Replace(TokenGrant token) => Volatile.Write(ref _token, token);

    /// <summary>One Refresh at a time per user: refresh tokens rotate, and reusing a spent one revokes the session.</summary>
    internal SemaphoreSlim RefreshGate { get; } = new(1, 1);
}

/// <summary>
/// The load users: load-&lt;i&gt;@&lt;prefix&gt;.loadtest.flashdeal.dev with one known password, signed up (or logged in when
/// they exist from an earlier run) in parallel with bounded concurrency, recorded as stage "log-in".
/// </summary>
public sealed class UserPool(ScenarioContext context)
{
    public const string Password = "load-tool-password-1";

    private const string TooManyAttempts = "TOO_MANY_ATTEMPTS";
    private const string PasswordChecksBusy = "PASSWORD_CHECKS_BUSY";
    private const int MaxLogInAttempts = 8;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private UserSession[] _users = [];

    public IReadOnlyList<UserSession> All => _users;

    public static string Email(string prefix, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"user-{index:D6}@{prefix}.loadtest.flashdeal.dev");

    /// <summary>
    /// Access tokens live minutes; a longer run renews them. Called with the token that was refused: when another
    /// iteration already renewed it, that one is used. Recorded as operation "refresh".
    /// </summary>
    public async Task<bool> RenewAsync(UserSession user, string refusedToken, IOperationRecorder recorder,
        CancellationToken cancellationToken)
    {
        await user.RefreshGate.WaitAsync(cancellationToken);
        try
        {
            if (user.AccessToken != refusedToken)
            {
                return true;
            }
            var refreshed = await context.Client.CallAsync(Operations.Refresh, new RefreshRequest { RefreshToken = user.RefreshToken },
                recorder, cancellationToken: cancellationToken);
            if (refreshed.Response is { } grant)
            {
                user.Replace(grant.Token);
                return true;
            }
            return false;
        }
        finally
        {
            user.RefreshGate.Release();
        }
    }

    /// <summary>Makes sure at least <paramref name="count"/> users are signed in (once per run, shared by the scenarios).</summary>
    public async Task<IReadOnlyList<UserSession>> EnsureAsync(int count, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_users.Length >= count)
            {
                return _users;
            }
            var recorder = context.Setup.Stage(SetupRecorder.LogInStage);
            var sessions = new UserSession?[count];
            var started = DateTime.UtcNow;
            context.Log($"log-in: signing up / logging in {count} users ({context.Options.LoginConcurrency} at a time)…");
            await Parallel.ForEachAsync(Enumerable.Range(0, count),
                new ParallelOptions { MaxDegreeOfParallelism = context.Options.LoginConcurrency, CancellationToken = cancellationToken },
                async (index, ct) =>
                {
                    var email = Email(context.Options.UserPrefix, index);
                    var registered = false;
                    // Sign up, or log in when the account exists. The auth service counts attempts in flight per client
                    // address (all of ours share one) and sheds sign-ups and log-ins while its hashing slots are full
                    // (PASSWORD_CHECKS_BUSY): back off and try the same step again a few times rather than lose the user.
                    for (var attempt = 1; ; attempt++)
                    {
                        string outcome;
                        if (!registered)
                        {
                            var signUp = await context.Client.CallAsync(Operations.SignUp,
                                new SignUpRequest { Email = email, Password = Password, DisplayName = $"Load user {index}" }, recorder,
                                expected: o => o is Outcomes.EmailAlreadyRegistered or PasswordChecksBusy, cancellationToken: ct);
                            if (signUp.Response is { } created)
                            {
                                sessions[index] = new UserSession(index, email, created.User.UserId, created.Token);
                                return;
                            }
                            registered = signUp.Outcome == Outcomes.EmailAlreadyRegistered;
                            outcome = signUp.Outcome;
                        }
                        else
                        {
                            var logIn = await context.Client.CallAsync(Operations.LogIn,
                                new LogInRequest { Email = email, Password = Password }, recorder,
                                expected: o => o is PasswordChecksBusy, cancellationToken: ct);
                            if (logIn.Response is { } existing)
                            {
                                sessions[index] = new UserSession(index, email, existing.User.UserId, existing.Token);
                                return;
                            }
                            outcome = logIn.Outcome;
                        }
                        if (registered && outcome == Outcomes.EmailAlreadyRegistered)
                        {
                            continue; // straight to the log-in
                        }
                        if (attempt >= MaxLogInAttempts
                            || !(outcome is TooManyAttempts or PasswordChecksBusy || Outcomes.IsTransient(outcome)))
                        {
                            return;
                        }
                        await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt + Random.Shared.Next(250)), ct);
                    }
                });
            context.Setup.EndStage(SetupRecorder.LogInStage);
            var ready = sessions.Where(s => s is not null).Select(s => s!).ToArray();
            context.Log($"log-in: {ready.Length} of {count} users ready in {(DateTime.UtcNow - started).TotalSeconds:0.0} s");
            if (ready.Length == 0)
            {
                throw new SetupException($"none of {count} users could sign up or log in at {context.Client.Transport.Endpoints.Auth} " +
                    $"({string.Join(", ", context.Setup.Summary().Where(l => l.StartsWith("log-in", StringComparison.Ordinal)))})");
            }
            // Re-index densely so scenarios can pick users by position.
            _users = [.. ready.Select((s, i) => new UserSession(i, s.Email, s.UserId, new TokenGrant
            {
                AccessToken = s.AccessToken,
                RefreshToken = s.RefreshToken,
            }))];
            return _users;
        }
        finally
        {
            _gate.Release();
        }
    }
}
