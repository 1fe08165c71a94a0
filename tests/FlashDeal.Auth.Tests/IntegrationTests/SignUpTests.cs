using FlashDeal.Contracts.Auth.V1;
using FlashDeal.TestInfrastructure;
using Grpc.Core;

namespace FlashDeal.Auth.Tests.IntegrationTests;

[Collection(DataServers.Name)]
public sealed class SignUpTests(AuthServiceFixture service) : IClassFixture<AuthServiceFixture>
{
    private readonly AuthClient _client = service.Client;

    private static string NewEmail() => $"user-{Guid.NewGuid():N}@example.com";

    [Fact]
    public async Task SignUpCreatesACustomerAndLogsItIn()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        var response = await _client.SignUpAsync("  Ada.Lovelace@Example.COM ");

        var user = response.User;
        Assert.True(Guid.TryParse(user.UserId, out var id));
        Assert.Equal(7, id.Version);
        Assert.Equal("ada.lovelace@example.com", user.Email);
        Assert.Equal("ada.lovelace", user.DisplayName);
        Assert.Equal(Role.Customer, user.Role);
        Assert.InRange(user.CreateTime.ToDateTimeOffset(), before, DateTimeOffset.UtcNow.AddSeconds(5));
        Assert.Equal("Bearer", response.Token.TokenType);
        Assert.Equal(300, response.Token.ExpiresIn);
        Assert.Equal(14 * 24 * 3600, response.Token.RefreshExpiresIn);
        Assert.Equal(3, response.Token.AccessToken.Split('.').Length);
        Assert.Equal(43, response.Token.RefreshToken.Length);

        var me = await _client.GetMeAsync(response.Token.AccessToken);
        Assert.Equal(user, me.User);
    }

    [Fact]
    public async Task SignUpOverRestReturnsTheUserAndTokens()
    {
        var email = NewEmail();
        var rest = await _client.PostAsync("/v1/auth:signUp",
            $$"""{"email":"{{email}}","password":"{{AuthClient.Password}}","displayName":"Ada L."}""");

        Assert.Equal(200, rest.Status);
        Assert.Equal(email, rest.Json.GetProperty("user").GetProperty("email").GetString());
        Assert.Equal("Ada L.", rest.Json.GetProperty("user").GetProperty("displayName").GetString());
        Assert.Equal("ROLE_CUSTOMER", rest.Json.GetProperty("user").GetProperty("role").GetString());
        Assert.Equal("Bearer", rest.Json.GetProperty("token").GetProperty("tokenType").GetString());
        Assert.NotEmpty(rest.Json.GetProperty("token").GetProperty("refreshToken").GetString()!);
        Assert.Equal(email, (await _client.LogInAsync(email)).User.Email);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-an-email")]
    [InlineData("ada@example")]
    [InlineData("ada lovelace@example.com")]
    public async Task InvalidEmailIsABadRequestNamingTheField(string email)
    {
        var grpc = await _client.FailAsync(c =>
            c.SignUpAsync(new SignUpRequest { Email = email, Password = AuthClient.Password }, AuthClient.Options()));
        var rest = await _client.PostAsync("/v1/auth:signUp", $$"""{"email":"{{email}}","password":"{{AuthClient.Password}}"}""");

        Assert.Equal(StatusCode.InvalidArgument, grpc.StatusCode);
        Assert.Equal(["email"], grpc.ViolatedFields());
        Assert.Equal(400, rest.Status);
        Assert.Equal(["email"], rest.ViolatedFields);
    }

    [Theory]
    [InlineData("short")]
    [InlineData("password123")]
    [InlineData("1234567890")]
    [InlineData("EMAIL")]
    [InlineData("LONG")]
    public async Task WeakPasswordIsABadRequestWithTheWeakPasswordReason(string password)
    {
        var email = NewEmail();
        password = password switch
        {
            "EMAIL" => email.ToUpperInvariant(),
            "LONG" => new string('x', 128) + "y",
            _ => password,
        };

        var grpc = await _client.FailAsync(c =>
            c.SignUpAsync(new SignUpRequest { Email = email, Password = password }, AuthClient.Options()));
        var rest = await _client.PostAsync("/v1/auth:signUp", $$"""{"email":"{{email}}","password":"{{password}}"}""");

        grpc.AssertReason(StatusCode.InvalidArgument, AuthErrorReason.WeakPassword);
        Assert.Equal(["password"], grpc.ViolatedFields());
        Assert.DoesNotContain(password, grpc.Status.Detail);
        Assert.Equal(400, rest.Status);
        Assert.Equal("WEAK_PASSWORD", rest.Reason);
        Assert.Equal(["password"], rest.ViolatedFields);
        await _client.LogInFailsAsync(email, password);
    }

    [Fact]
    public async Task EveryBadFieldIsReportedAtOnce()
    {
        var rest = await _client.PostAsync("/v1/auth:signUp", """{"email":"nope","password":""}""");
        var all = await _client.PostAsync("/v1/auth:signUp",
            $$"""{"email":"@example.com","password":"short","displayName":"{{new string('n', 65)}}"}""");

        Assert.Equal(400, rest.Status);
        Assert.Equal(["email", "password"], rest.ViolatedFields);
        Assert.Equal(["email", "password", "display_name"], all.ViolatedFields);
    }

    [Fact]
    public async Task DisplayNameIsLimited()
    {
        var tooLong = await _client.FailAsync(c => c.SignUpAsync(
            new SignUpRequest { Email = NewEmail(), Password = AuthClient.Password, DisplayName = new string('n', 65) },
            AuthClient.Options()));
        var control = await _client.PostAsync("/v1/auth:signUp",
            $$"""{"email":"{{NewEmail()}}","password":"{{AuthClient.Password}}","displayName":"Ada\u0007"}""");
        var longest = await _client.SignUpAsync(NewEmail(), displayName: "  " + new string('n', 64) + "  ");

        Assert.Equal(StatusCode.InvalidArgument, tooLong.StatusCode);
        Assert.Equal(["display_name"], tooLong.ViolatedFields());
        Assert.Equal(400, control.Status);
        Assert.Equal(["display_name"], control.ViolatedFields);
        Assert.Equal(new string('n', 64), longest.User.DisplayName);
    }

    [Fact]
    public async Task TakenEmailIsAlreadyExistsWhateverItsCase()
    {
        var email = NewEmail();
        await _client.SignUpAsync(email);

        var grpc = await _client.FailAsync(c => c.SignUpAsync(
            new SignUpRequest { Email = email.ToUpperInvariant(), Password = "another good password" },
            AuthClient.Options()));
        var rest = await _client.PostAsync("/v1/auth:signUp", $$"""{"email":" {{email}}","password":"{{AuthClient.Password}}"}""");

        grpc.AssertReason(StatusCode.AlreadyExists, AuthErrorReason.EmailAlreadyRegistered);
        Assert.Equal(409, rest.Status);
        Assert.Equal("EMAIL_ALREADY_REGISTERED", rest.Reason);
        await _client.LogInFailsAsync(email, "another good password");
    }

    [Fact]
    public async Task ConcurrentSignUpsWithOneEmailCreateOneAccount()
    {
        var email = NewEmail();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempts = Enumerable.Range(0, 6).Select(async i =>
        {
            await start.Task;
            try
            {
                await _client.SignUpAsync(i % 2 == 0 ? email : email.ToUpperInvariant(), $"password number {i}");
                return StatusCode.OK;
            }
            catch (RpcException e)
            {
                return e.StatusCode;
            }
        }).ToList();
        start.SetResult();
        var codes = await Task.WhenAll(attempts);

        Assert.Equal(1, codes.Count(c => c == StatusCode.OK));
        Assert.Equal(5, codes.Count(c => c == StatusCode.AlreadyExists));
    }
}
