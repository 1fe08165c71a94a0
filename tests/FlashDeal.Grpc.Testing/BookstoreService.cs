using FlashDeal.Grpc.Testing.V1;
using FlashDeal.Grpc.Transcoding;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Microsoft.AspNetCore.Http;

namespace FlashDeal.Grpc.Testing;

/// <summary>
/// Stateless stand-in for a bookstore: every method answers from what it received, so transcoding tests can assert how
/// paths, bodies and query parameters were bound.
/// </summary>
[GrpcService("flashdeal.testing.v1.BookstoreService")]
public sealed class BookstoreService
{
    private static readonly Timestamp CreatedAt = Timestamp.FromDateTime(new DateTime(2024, 5, 1, 12, 0, 0, DateTimeKind.Utc));

    public Task<Shelf> GetShelf(GetShelfRequest request, ServerCallContext context)
    {
        if (request.ShelfId <= 0)
        {
            throw new RpcException(StatusCode.NotFound, $"Shelf {request.ShelfId} does not exist.");
        }
        return Task.FromResult(new Shelf { ShelfId = request.ShelfId, Theme = $"theme-{request.ShelfId}-{request.View}" });
    }

    public Task<Shelf> CreateShelf(CreateShelfRequest request, ServerCallContext context)
    {
        if (request.Shelf is null)
        {
            throw RpcException.InvalidArgument(("shelf", "is required"));
        }
        context.SetHttpStatusOverride(StatusCodes.Status201Created);
        var shelf = request.Shelf.Clone();
        shelf.RequestId = request.RequestId;
        shelf.CreatedAt ??= CreatedAt;
        return Task.FromResult(shelf);
    }

    public Task<Shelf> UpdateShelf(UpdateShelfRequest request, ServerCallContext context)
    {
        var shelf = request.Shelf?.Clone() ?? new Shelf();
        shelf.UpdatedPaths.AddRange(request.UpdateMask?.Paths ?? []);
        return Task.FromResult(shelf);
    }

    public Task<Shelf> GetShelfTheme(GetShelfRequest request, ServerCallContext context) => GetShelf(request, context);

    public async Task WatchShelf(WatchShelfRequest request, IServerStreamWriter<ShelfEvent> responseStream,
        ServerCallContext context)
    {
        if (request.ShelfId <= 0)
        {
            throw new RpcException(StatusCode.NotFound, $"Shelf {request.ShelfId} does not exist.");
        }
        for (var i = 0; i < request.Count; i++)
        {
            if (request.FailAfter > 0 && i == request.FailAfter)
            {
                throw new RpcException(StatusCode.Aborted, $"Watch of shelf {request.ShelfId} aborted after {i} events.");
            }
            await responseStream.WriteAsync(new ShelfEvent { ShelfId = request.ShelfId, Sequence = i });
        }
    }

    public Task<ListBooksResponse> ListBooks(ListBooksRequest request, ServerCallContext context) =>
        Task.FromResult(new ListBooksResponse
        {
            Query = request,
            Books = { new Book { Name = $"shelves/{request.ShelfId}/books/1", Title = "First" } },
        });

    public Task<Book> GetBook(GetBookRequest request, ServerCallContext context)
    {
        var name = request.Ref is { } r ? $"shelves/{r.ShelfId}/books/{r.BookId}" : request.Name;
        return Task.FromResult(new Book { Name = name, Title = $"Title of {name}" });
    }

    public Task<Book> CreateBook(CreateBookRequest request, ServerCallContext context)
    {
        var book = request.Book?.Clone() ?? new Book();
        book.Name = $"shelves/{request.ShelfId}/books/{book.Name}";
        return Task.FromResult(book);
    }

    public Task<Book> ReplaceBook(Book request, ServerCallContext context) => Task.FromResult(request);

    public Task<Empty> DeleteBook(DeleteBookRequest request, ServerCallContext context)
    {
        if (request.Name.EndsWith("/missing", StringComparison.Ordinal))
        {
            throw new RpcException(StatusCode.NotFound, $"Book {request.Name} does not exist.");
        }
        context.ResponseTrailers.Add("deleted-name", request.Name);
        return Task.FromResult(new Empty());
    }

    public Task<Book> MoveBook(MoveBookRequest request, ServerCallContext context)
    {
        var book = request.Name.Split('/')[^1];
        return Task.FromResult(new Book { Name = $"shelves/{request.TargetShelfId}/books/{book}" });
    }

    public Task<Book> LendBook(LendBookRequest request, ServerCallContext context)
    {
        if (request.Name.EndsWith("-lent", StringComparison.Ordinal))
        {
            context.SetHttpStatusOverride(StatusCodes.Status409Conflict);
            throw RpcException.WithReason(StatusCode.FailedPrecondition, "ALREADY_LENT", "testing.flashdeal.dev",
                $"{request.Name} is already lent.");
        }
        return Task.FromResult(new Book { Name = request.Name, Title = $"lent to {request.Borrower}" });
    }

    public Task<Document> GetDocument(GetDocumentRequest request, ServerCallContext context) =>
        Task.FromResult(new Document { Path = request.Path });

    public async Task<UploadBooksResponse> UploadBooks(IAsyncStreamReader<Book> requestStream, ServerCallContext context)
    {
        var count = 0;
        await foreach (var _ in requestStream.ReadAllAsync(context.CancellationToken))
        {
            count++;
        }
        return new UploadBooksResponse { Count = count };
    }

    public Task<InspectResponse> Inspect(InspectRequest request, ServerCallContext context)
    {
        if (request.FailCode != 0)
        {
            var details = request.RetryAfterSeconds > 0
                ? new[] { new RetryInfo { RetryDelay = Duration.FromTimeSpan(TimeSpan.FromSeconds(request.RetryAfterSeconds)) } }
                : [];
            throw RpcException.WithDetails((StatusCode)request.FailCode, "Inspect was asked to fail.", details);
        }
        var response = new InspectResponse
        {
            IsTranscoded = context.IsTranscoded,
            Method = context.Method,
            DeadlineMsLeft = context.Deadline == DateTime.MaxValue
                ? -1
                : (long)Math.Max(0, (context.Deadline - DateTime.UtcNow).TotalMilliseconds),
        };
        foreach (var entry in context.RequestHeaders.Where(e => !e.IsBinary))
        {
            response.Headers[entry.Key] = entry.Value;
        }
        return Task.FromResult(response);
    }
}
