using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Google.Protobuf;

namespace FlashDeal.Grpc;

/// <summary>Constants and small pure functions of the gRPC over HTTP/2 protocol.</summary>
public static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";
    public const string StatusDetailsHeader = "grpc-status-details-bin";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string IdentityEncoding = "identity";
    public const string GzipEncoding = "gzip";
    public const int HeaderSize = 5;
    public const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>True for application/grpc and application/grpc+proto (any parameters).</summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        if (contentType.Length == ContentType.Length)
        {
            return true;
        }
        var next = contentType[ContentType.Length];
        return next == ';' || contentType.AsSpan(ContentType.Length).StartsWith("+proto", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Headers that are part of the protocol, never surfaced as user metadata.</summary>
    public static bool IsReservedHeader(string key) =>
        key.StartsWith(':')
        || key.Equals("content-type", StringComparison.OrdinalIgnoreCase)
        || key.Equals("te", StringComparison.OrdinalIgnoreCase)
        || key.Equals("host", StringComparison.OrdinalIgnoreCase)
        || key.Equals("content-length", StringComparison.OrdinalIgnoreCase)
        || key.Equals(TimeoutHeader, StringComparison.OrdinalIgnoreCase)
        || key.Equals(EncodingHeader, StringComparison.OrdinalIgnoreCase)
        || key.Equals(AcceptEncodingHeader, StringComparison.OrdinalIgnoreCase)
        || key.Equals(StatusHeader, StringComparison.OrdinalIgnoreCase)
        || key.Equals(MessageHeader, StringComparison.OrdinalIgnoreCase)
        || key.Equals(StatusDetailsHeader, StringComparison.OrdinalIgnoreCase);

    /// <summary>Binary (-bin) header values are base64; sent without padding, accepted with or without (gRPC over HTTP/2 spec).</summary>
    public static string EncodeBinaryHeader(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    public static bool TryDecodeBinaryHeader(string value, out byte[] bytes)
    {
        var padded = (value.Length % 4) switch
        {
            2 => value + "==",
            3 => value + "=",
            _ => value,
        };
        try
        {
            bytes = Convert.FromBase64String(padded);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }

    /// <summary>Parses a grpc-timeout value ("100m", "5S", "1H"): at most 8 digits and a unit.</summary>
    public static bool TryParseTimeout(string? value, out TimeSpan timeout)
    {
        timeout = default;
        if (string.IsNullOrEmpty(value) || value.Length < 2 || value.Length > 9)
        {
            return false;
        }
        if (!long.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }
        var ticks = value[^1] switch
        {
            'H' => amount * TimeSpan.TicksPerHour,
            'M' => amount * TimeSpan.TicksPerMinute,
            'S' => amount * TimeSpan.TicksPerSecond,
            'm' => amount * TimeSpan.TicksPerMillisecond,
            'u' => amount * 10,
            'n' => amount / 100,
            _ => -1,
        };
        if (ticks < 0)
        {
            return false;
        }
        timeout = TimeSpan.FromTicks(ticks);
        return true;
    }

    /// <summary>Formats a timeout with the coarsest unit that keeps it within 8 digits (rounded up).</summary>
    public static string FormatTimeout(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return "1n";
        }
        var ms = (long)Math.Ceiling(timeout.TotalMilliseconds);
        if (ms < 100_000_000)
        {
            return ms.ToString(CultureInfo.InvariantCulture) + "m";
        }
        var s = (long)Math.Ceiling(timeout.TotalSeconds);
        if (s < 100_000_000)
        {
            return s.ToString(CultureInfo.InvariantCulture) + "S";
        }
        return Math.Min(99_999_999L, (long)Math.Ceiling(timeout.TotalHours)).ToString(CultureInfo.InvariantCulture) + "H";
    }

    /// <summary>Writes the 5-byte frame header: compressed flag and big-endian length.</summary>
    public static void WriteHeader(Span<byte> destination, bool compressed, int length)
    {
        destination[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)length);
    }

    /// <summary>
    /// Tries to cut one whole frame from the front of <paramref name="buffer"/>. Returns false when more bytes are needed.
    /// Throws RESOURCE_EXHAUSTED as soon as a header announces a message over <paramref name="maxMessageSize"/>.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxMessageSize, out bool compressed,
        out ReadOnlySequence<byte> payload)
    {
        compressed = false;
        payload = default;
        if (buffer.Length < HeaderSize)
        {
            return false;
        }
        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        var flag = header[0];
        if (flag > 1)
        {
            throw new RpcException(StatusCode.Internal, $"Invalid compressed flag {flag} in message frame.");
        }
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > (uint)maxMessageSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted,
                $"Received message larger than max ({length} vs. {maxMessageSize})");
        }
        if (buffer.Length < HeaderSize + length)
        {
            return false;
        }
        compressed = flag == 1;
        payload = buffer.Slice(HeaderSize, length);
        buffer = buffer.Slice(payload.End);
        return true;
    }

    /// <summary>Serializes one message as a frame into <paramref name="writer"/>, compressing when a codec is given.</summary>
    public static void WriteFrame(IBufferWriter<byte> writer, IMessage message, int maxMessageSize, ICompressionProvider? compression)
    {
        var size = message.CalculateSize();
        if (size > maxMessageSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted,
                $"Sending message larger than max ({size} vs. {maxMessageSize})");
        }
        if (compression is null)
        {
            var span = writer.GetSpan(HeaderSize + size);
            WriteHeader(span, compressed: false, size);
            message.WriteTo(span.Slice(HeaderSize, size));
            writer.Advance(HeaderSize + size);
            return;
        }
        var raw = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            message.WriteTo(raw.AsSpan(0, size));
            var packed = compression.Compress(raw.AsSpan(0, size));
            var span = writer.GetSpan(HeaderSize + packed.Length);
            WriteHeader(span, compressed: true, packed.Length);
            packed.CopyTo(span[HeaderSize..]);
            writer.Advance(HeaderSize + packed.Length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    /// <summary>Parses a payload, decompressing first when the frame says so.</summary>
    public static T ParsePayload<T>(MessageParser<T> parser, in ReadOnlySequence<byte> payload, bool compressed,
        ICompressionProvider? compression, int maxMessageSize) where T : IMessage<T>
    {
        if (!compressed)
        {
            return parser.ParseFrom(payload);
        }
        if (compression is null)
        {
            throw new RpcException(StatusCode.Internal,
                "Received a compressed message but the call did not declare a grpc-encoding.");
        }
        var bytes = compression.Decompress(payload, maxMessageSize);
        return parser.ParseFrom(bytes);
    }
}
