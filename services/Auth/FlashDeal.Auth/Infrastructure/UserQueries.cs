using FlashDeal.Auth.Accounts;
using FlashDeal.Security;
using Npgsql;

namespace FlashDeal.Auth.Infrastructure;

/// <summary>SQL over auth.users.</summary>
public sealed class UserQueries(NpgsqlDataSource dataSource)
{
    private const string Columns = "user_id, email, display_name, role, password_hash, create_time";

    /// <summary>Inserts the account, or returns null when the email is taken.</summary>
    public async Task<UserAccount?> InsertAsync(UserAccount user, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            INSERT INTO auth.users (user_id, email, display_name, role, password_hash)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (email) DO NOTHING
            RETURNING {Columns}
            """);
        command.Parameters.Add(new() { Value = user.UserId });
        command.Parameters.Add(new() { Value = user.Email });
        command.Parameters.Add(new() { Value = user.DisplayName });
        command.Parameters.Add(new() { Value = Roles.ToClaimValue(user.Role) });
        command.Parameters.Add(new() { Value = user.PasswordHash });
        return await ReadSingleAsync(command, cancellationToken);
    }

    public async Task<UserAccount?> FindByEmailAsync(string normalizedEmail, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM auth.users WHERE email = $1");
        command.Parameters.Add(new() { Value = normalizedEmail });
        return await ReadSingleAsync(command, cancellationToken);
    }

    public async Task<UserAccount?> FindByIdAsync(Guid userId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM auth.users WHERE user_id = $1");
        command.Parameters.Add(new() { Value = userId });
        return await ReadSingleAsync(command, cancellationToken);
    }

    /// <summary>Compare-and-set: a concurrent password change wins over an iteration upgrade.</summary>
    public async Task<bool> ReplacePasswordHashAsync(Guid userId, string currentHash, string newHash,
        CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE auth.users SET password_hash = $3, update_time = now()
            WHERE user_id = $1 AND password_hash = $2
            """);
        command.Parameters.Add(new() { Value = userId });
        command.Parameters.Add(new() { Value = currentHash });
        command.Parameters.Add(new() { Value = newHash });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>True when the role changed (false: already admin).</summary>
    public async Task<bool> PromoteToAdminAsync(Guid userId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE auth.users SET role = 'admin', update_time = now()
            WHERE user_id = $1 AND role <> 'admin'
            """);
        command.Parameters.Add(new() { Value = userId });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private static async Task<UserAccount?> ReadSingleAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>Reads the columns of <see cref="Columns"/>, in that order, from the start of the row.</summary>
    internal static UserAccount Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetString(1),
        reader.GetString(2),
        Roles.FromClaimValue(reader.GetString(3)),
        reader.GetString(4),
        reader.GetFieldValue<DateTimeOffset>(5));
}
