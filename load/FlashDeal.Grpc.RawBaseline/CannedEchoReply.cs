using System.Buffers.Binary;
using Google.Protobuf;

namespace FlashDeal.Grpc.RawBaseline;

/// <summary>
/// An EchoResponse frame built by hand so this program needs none of our assemblies. Field numbers mirror
/// tests/protos/flashdeal/testing/v1/echo.proto; the reply has the size the real Echo service sends.
/// </summary>
public static class CannedEchoReply
{
    public static byte[] Frame(string message, int sequence, string peer)
    {
        var payload = new MemoryStream();
        using (var output = new CodedOutputStream(payload))
        {
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);
            output.WriteString(message);
            output.WriteTag(2, WireFormat.WireType.Varint);
            output.WriteInt32(sequence);
            output.WriteTag(3, WireFormat.WireType.LengthDelimited);
            output.WriteString(peer);
            output.WriteTag(4, WireFormat.WireType.Varint);
            output.WriteInt64(-1);
        }
        var bytes = payload.ToArray();

        var frame = new byte[5 + bytes.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)bytes.Length);
        bytes.CopyTo(frame, 5);
        return frame;
    }
}
