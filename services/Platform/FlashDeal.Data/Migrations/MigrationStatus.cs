namespace FlashDeal.Data;

public enum MigrationState
{
    Pending,
    Applied,
    /// <summary>Applied, but the file's checksum differs from the recorded one.</summary>
    ChecksumMismatch,
    /// <summary>Recorded in the database but unknown to this build (the database is ahead of the code).</summary>
    Unknown,
}

public sealed record MigrationStatus(long Version, string Name, MigrationState State, DateTimeOffset? AppliedAt);
