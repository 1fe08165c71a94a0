using System.Buffers.Binary;
using System.Security.Cryptography;

namespace FlashDeal.Data;

/// <summary>
/// RFC 9562 version 7 UUIDs: a 48-bit Unix millisecond timestamp first, so ids sort by creation time both in
/// PostgreSQL (uuid compares bytes) and in .NET (<see cref="Guid.CompareTo(Guid)"/>) and index inserts stay local.
/// Unlike <see cref="Guid.CreateVersion7()"/>, ids from one generator are strictly increasing also within a millisecond
/// (a 12-bit counter in rand_a, RFC 9562 §6.2 method 1) and when the clock steps back.
/// </summary>
public sealed class UuidV7Generator(TimeProvider timeProvider)
{
    private const int CounterBits = 12;
    private const int MaxCounter = (1 << CounterBits) - 1;

    private readonly Lock _gate = new();
    private long _lastMillis = -1;
    private int _counter;

    public static UuidV7Generator Default { get; } = new(TimeProvider.System);

    public Guid NewGuid()
    {
        long millis;
        int counter;
        lock (_gate)
        {
            var now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            if (now > _lastMillis)
            {
                _lastMillis = now;
                // Seed in the lower half so a burst in one millisecond rarely overflows into the next.
                _counter = RandomNumberGenerator.GetInt32(MaxCounter / 2);
            }
            else if (_counter < MaxCounter)
            {
                _counter++;
            }
            else
            {
                _lastMillis++;
                _counter = 0;
            }
            millis = _lastMillis;
            counter = _counter;
        }

        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes[8..]);
        BinaryPrimitives.WriteInt64BigEndian(bytes, millis << 16);
        bytes[6] = (byte)(0x70 | (counter >> 8));
        bytes[7] = (byte)counter;
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>The creation time carried by a version 7 UUID.</summary>
    public static DateTimeOffset GetTimestamp(Guid id)
    {
        if (id.Version != 7)
        {
            throw new ArgumentException($"{id} is a version {id.Version} UUID, not version 7.", nameof(id));
        }
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        return DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(bytes) >>> 16);
    }
}
