using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FlashDeal.TestInfrastructure;

/// <summary>
/// Sends one command over a fresh connection and renders the reply as text (arrays one element per line; a bulk string
/// whole, so INFO and CLUSTER NODES keep their lines). Enough for fixture control (PING, FLUSHALL, CLIENT PAUSE, ROLE)
/// without a client library whose reconnect logic would get in the way. Bulk strings are read as characters: the
/// replies fixtures read are ASCII.
/// </summary>
internal static class RespClient
{
    public static async Task<string> ExecuteAsync(int port, IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken).ConfigureAwait(false);
        var stream = client.GetStream();
        var request = new StringBuilder($"*{command.Count}\r\n");
        foreach (var part in command)
        {
            request.Append(CultureInvariant($"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n"));
        }
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await ReadReplyAsync(reader, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<string> ReadReplyAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        var line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new IOException("Redis closed the connection without a reply.");
        var body = line[1..];
        switch (line[0])
        {
            case '+' or ':':
                return body;
            case '-':
                throw new InvalidOperationException($"Redis error: {body}");
            case '$':
                if (body == "-1")
                {
                    return "";
                }
                var text = new char[int.Parse(body, System.Globalization.CultureInfo.InvariantCulture)];
                if (await reader.ReadBlockAsync(text, cancellationToken).ConfigureAwait(false) != text.Length)
                {
                    throw new IOException("Redis closed the connection in the middle of a reply.");
                }
                await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
                return new string(text);
            case '*':
                var items = new List<string>();
                for (var i = 0; i < int.Parse(body, System.Globalization.CultureInfo.InvariantCulture); i++)
                {
                    items.Add(await ReadReplyAsync(reader, cancellationToken).ConfigureAwait(false));
                }
                return string.Join('\n', items);
            default:
                throw new IOException($"Unexpected Redis reply: {line}");
        }
    }

    private static string CultureInvariant(FormattableString text) => FormattableString.Invariant(text);
}
