using System.Security.Cryptography;
using System.Text;

namespace FlashDeal.Data;

/// <summary>One numbered schema change: the SQL that applies it and, when it can be undone, the SQL that reverts it.</summary>
public sealed class Migration
{
    public Migration(long version, string name, string up, string? down = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(version);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(up);
        Version = version;
        Name = name;
        Up = up;
        Down = down;
        Checksum = ComputeChecksum(up);
    }

    public long Version { get; }

    public string Name { get; }

    public string Up { get; }

    public string? Down { get; }

    /// <summary>SHA-256 of the up script, hex; line endings are normalised so a Windows checkout does not look like drift.</summary>
    public string Checksum { get; }

    public override string ToString() => $"{Version:D4}_{Name}";

    public static string ComputeChecksum(string sql)
    {
        var normalized = sql.Replace("\r\n", "\n", StringComparison.Ordinal);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalized)));
    }
}
