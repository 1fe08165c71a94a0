using Grpc.Core;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// Collects every problem with a request, then fails once with INVALID_ARGUMENT and a google.rpc.BadRequest naming
/// each field (proto field paths, e.g. "deal.stock"), so a client sees all its mistakes in one answer.
/// </summary>
public sealed class FieldViolations
{
    private readonly List<(string Field, string Description)> _violations = [];

    public bool Any => _violations.Count > 0;

    public FieldViolations Add(string field, string description)
    {
        _violations.Add((field, description));
        return this;
    }

    /// <summary>Adds a violation when <paramref name="condition"/> is false.</summary>
    public FieldViolations Check(bool condition, string field, string description) =>
        condition ? this : Add(field, description);

    public FieldViolations Required(string? value, string field) =>
        Check(!string.IsNullOrWhiteSpace(value), field, "is required");

    public FieldViolations MaxLength(string? value, int max, string field) =>
        Check(value is null || value.Length <= max, field, $"must be at most {max} characters");

    /// <exception cref="RpcException">INVALID_ARGUMENT when any violation was added.</exception>
    public void ThrowIfAny()
    {
        if (_violations.Count > 0)
        {
            throw RpcErrors.InvalidArgument([.. _violations]);
        }
    }
}
