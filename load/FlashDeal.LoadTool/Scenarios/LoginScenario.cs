using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Load;
using FlashDeal.LoadTool.Api;

namespace FlashDeal.LoadTool.Scenarios;

/// <summary>
/// The log-in flow of a returning user: LogIn (a full PBKDF2 check on the server), GetMe with the new access token,
/// Refresh (rotates the refresh token), LogOut with the rotated one. Users are signed up once in set-up.
/// </summary>
public sealed class LoginScenario(ScenarioContext context) : Scenario(context)
{
    private IReadOnlyList<UserSession> _users = [];
    private long _next = -1;

    public override string Name => "login";

    public override IReadOnlyList<StagePlan> DefaultStages(LoadMode mode) => mode == LoadMode.ClosedLoop
        // Each LogIn is a full PBKDF2 check (~100 ms of a core at 210 000 iterations), and the auth service throttles
        // log-ins in flight per client address: modest defaults, raise them with --stages.
        ? [new StagePlan("warm-up", TimeSpan.FromSeconds(5), 2), new StagePlan("sustain", TimeSpan.FromSeconds(20), 8)]
        : [new StagePlan("warm-up", TimeSpan.FromSeconds(5), 5), new StagePlan("sustain", TimeSpan.FromSeconds(20), 15)];

    public override async Task SetUpAsync(CancellationToken cancellationToken) =>
        _users = await Context.Users.EnsureAsync(Options.Users, cancellationToken);

    public override async ValueTask IterateAsync(IIterationContext iteration, CancellationToken cancellationToken)
    {
        var user = _users[(int)((ulong)Interlocked.Increment(ref _next) % (ulong)_users.Count)];
        var recorder = iteration.Recorder;
        var logIn = await Client.CallAsync(Operations.LogIn, new LogInRequest { Email = user.Email, Password = UserPool.Password },
            recorder, cancellationToken: cancellationToken);
        if (logIn.Response is not { } session)
        {
            return;
        }
        await Client.CallAsync(Operations.GetMe, new GetMeRequest(), recorder, session.Token.AccessToken,
            cancellationToken: cancellationToken);
        var refreshed = await Client.CallAsync(Operations.Refresh, new RefreshRequest { RefreshToken = session.Token.RefreshToken },
            recorder, cancellationToken: cancellationToken);
        var token = refreshed.Response?.Token ?? session.Token;
        await Client.CallAsync(Operations.LogOut, new LogOutRequest { RefreshToken = token.RefreshToken }, recorder,
            token.AccessToken, cancellationToken: cancellationToken);
    }
}
