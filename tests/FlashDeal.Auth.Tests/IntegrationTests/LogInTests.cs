using FlashDeal.Auth.Accounts;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.TestInfrastructure;
using Grpc.Core;

namespace FlashDeal.Auth.Tests.IntegrationTests;

[Collection(DataServers.Name)]
public sealed class LogInTests(AuthServiceFixture service) : IClassFixture<AuthServiceFixture>
{
    private readonly AuthClient _client = service.Client;

    private async Task<string> SignedUpEmailAsync()
    {
        var email = $"user-{Guid.NewGuid():N}@example.com";
        await _client.SignUpAsync(email);
        return email;
    }

    [Fact]
    public async Task RightPasswordGivesANewSession()
    {
        var email = await SignedUpEmailAsync();

        var grpc = await _client.LogInAsync(email);
        var rest = await _client.PostAsync("/v1/auth:logIn", $$"""{"email":"{{email}}","password":"{{AuthClient.Password}}"}""");

        Assert.Equal(email, grpc.User.Email);
        Assert.Equal(Role.Customer, grpc.User.Role);
        Assert.Equal(43, grpc.Token.RefreshToken.Length);
        Assert.Equal(200, rest.Status);
        Assert.Equal(grpc.User.UserId, rest.Json.GetProperty("user").GetProperty("userId").GetString());
        Assert.NotEqual(grpc.Token.RefreshToken, rest.Json.GetProperty("token").GetProperty("refreshToken").GetString());
        await _client.RefreshAsync(grpc.Token.RefreshToken);
    }

    [Fact]
    public async Task EmailIsMatchedWhateverItsCaseAndSurroundingSpaces()
    {
        var email = await SignedUpEmailAsync();
        var response = await _client.LogInAsync($"  {email.ToUpperInvariant()}\t");
        Assert.Equal(email, response.User.Email);
    }

    [Fact]
    public async Task WrongPasswordIsUnauthenticated()
    {
        var email = await SignedUpEmailAsync();

        var grpc = await _client.LogInFailsAsync(email, "wrong password!");
        var rest = await _client.PostAsync("/v1/auth:logIn", $$"""{"email":"{{email}}","password":"wrong password!"}""");

        grpc.AssertReason(StatusCode.Unauthenticated, AuthErrorReason.InvalidCredentials);
        Assert.Equal(401, rest.Status);
        Assert.Equal("INVALID_CREDENTIALS", rest.Reason);
    }

    [Fact]
    public async Task UnknownEmailGetsExactlyTheAnswerOfAWrongPassword()
    {
        var email = await SignedUpEmailAsync();

        var wrongPassword = await _client.LogInFailsAsync(email, "wrong password!");
        var unknownEmail = await _client.LogInFailsAsync($"nobody-{Guid.NewGuid():N}@example.com", "wrong password!");
        var wrongRest = await _client.PostAsync("/v1/auth:logIn", $$"""{"email":"{{email}}","password":"wrong password!"}""");
        var unknownRest = await _client.PostAsync("/v1/auth:logIn", """{"email":"nobody@example.com","password":"wrong password!"}""");

        Assert.Equal(wrongPassword.Status, unknownEmail.Status);
        Assert.Equal(wrongRest.Status, unknownRest.Status);
        Assert.Equal(wrongRest.Json.ToString(), unknownRest.Json.ToString());
    }

    [Fact]
    public async Task MissingFieldsAreABadRequestNamingThem()
    {
        var rest = await _client.PostAsync("/v1/auth:logIn", "{}");
        var grpc = await _client.FailAsync(c =>
            c.LogInAsync(new LogInRequest { Email = "a@example.com" }, AuthClient.Options()));

        Assert.Equal(400, rest.Status);
        Assert.Equal(["email", "password"], rest.ViolatedFields);
        Assert.Equal(StatusCode.InvalidArgument, grpc.StatusCode);
        Assert.Equal(["password"], grpc.ViolatedFields());
    }

    [Fact]
    public async Task LogInUpgradesAHashWithFewerIterations()
    {
        var email = await SignedUpEmailAsync();
        var weak = new PasswordHasher(new PasswordHashOptions { Iterations = 500 }).Hash(AuthClient.Password);
        await SetPasswordHashAsync(email, weak);

        await _client.LogInAsync(email);

        var stored = await PasswordHashAsync(email);
        Assert.NotEqual(weak, stored);
        Assert.Equal(1000, PasswordHasher.IterationsOf(stored));
        Assert.Equal(email, (await _client.LogInAsync(email)).User.Email);
        await _client.LogInFailsAsync(email, "wrong password!");
        Assert.Equal(stored, await PasswordHashAsync(email));
    }

    private async Task SetPasswordHashAsync(string email, string hash)
    {
        await using var command = service.DataSource.CreateCommand("UPDATE auth.users SET password_hash = $2 WHERE email = $1");
        command.Parameters.Add(new() { Value = email });
        command.Parameters.Add(new() { Value = hash });
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    private async Task<string> PasswordHashAsync(string email)
    {
        await using var command = service.DataSource.CreateCommand("SELECT password_hash FROM auth.users WHERE email = $1");
        command.Parameters.Add(new() { Value = email });
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
