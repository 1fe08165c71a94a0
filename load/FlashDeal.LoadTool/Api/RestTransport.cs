using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Google.Protobuf;

namespace FlashDeal.LoadTool.Api;

/// <summary>
/// REST (the JSON transcoding of the google.api.http rules) over HTTP/1.1 keep-alive connections: requests and responses
/// in proto JSON (lowerCamel names, enums by name, int64 as strings), errors as the google.rpc.Status JSON body.
/// </summary>
public sealed class RestTransport : IApiTransport
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default);
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
    private static readonly MediaTypeHeaderValue Json = new("application/json") { CharSet = "utf-8" };

    private readonly HttpClient _http;

    public RestTransport(ServiceEndpoints endpoints, int maxConnectionsPerServer = 256)
    {
        Endpoints = endpoints;
        _http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnectionsPerServer,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public string Name => "rest";

    public ServiceEndpoints Endpoints { get; }

    public async Task<TResponse> SendAsync<TRequest, TResponse>(ApiOperation<TRequest, TResponse> operation, TRequest request,
        string? accessToken, TimeSpan timeout, CancellationToken cancellationToken)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        using var message = new HttpRequestMessage(operation.Verb, new Uri(Endpoints.For(operation.Service), operation.RestPath(request)));
        if (operation.RestBody)
        {
            message.Content = new StringContent(Formatter.Format(operation.RestBodyOf(request)), Encoding.UTF8);
            message.Content.Headers.ContentType = Json;
        }
        if (accessToken is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, deadline.Token)
                .ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new ApiException(Outcomes.FromRest(response.StatusCode, body), $"HTTP {(int)response.StatusCode} {Trim(body)}");
            }
            return Parser.Parse<TResponse>(body);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ApiException(Outcomes.DeadlineExceeded, $"no answer within {timeout.TotalSeconds:0.###} s", e);
        }
        catch (HttpRequestException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ApiException(Outcomes.Unavailable, e.Message, e);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ApiException("BAD_RESPONSE", e.Message, e);
        }
    }

    private static string Trim(string body) => body.Length <= 200 ? body : body[..200] + "…";

    public void Dispose() => _http.Dispose();
}
