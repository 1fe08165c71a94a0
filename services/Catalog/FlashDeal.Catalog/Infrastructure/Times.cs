using Google.Protobuf.WellKnownTypes;

namespace FlashDeal.Catalog.Infrastructure;

/// <summary>Conversions between proto timestamps and PostgreSQL timestamptz (microsecond precision, UTC).</summary>
public static class Times
{
    /// <summary>Cut to whole microseconds, so a value reads back from PostgreSQL exactly as it was written.</summary>
    public static DateTime Truncate(DateTime utc) =>
        new(utc.Ticks - utc.Ticks % (TimeSpan.TicksPerMillisecond / 1000), DateTimeKind.Utc);

    public static DateTime Now(TimeProvider time) => Truncate(time.GetUtcNow().UtcDateTime);

    /// <summary>Within 0001-01-01..9999-12-31 with normalized nanos (a binary client can send anything).</summary>
    public static bool IsValid(Timestamp timestamp) =>
        timestamp.Seconds is >= -62_135_596_800 and <= 253_402_300_799 && timestamp.Nanos is >= 0 and < 1_000_000_000;

    public static DateTime ToUtc(Timestamp timestamp) => Truncate(timestamp.ToDateTime());

    public static Timestamp ToTimestamp(DateTime utc) => Timestamp.FromDateTime(DateTime.SpecifyKind(utc, DateTimeKind.Utc));

    public static long ToUnixMilliseconds(DateTime utc) => new DateTimeOffset(utc, TimeSpan.Zero).ToUnixTimeMilliseconds();
}
