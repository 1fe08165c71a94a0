namespace FlashDeal.Data;

/// <summary>
/// A <c>page_token</c> that this service did not issue for this query. Services answer INVALID_ARGUMENT with a field
/// violation: <c>RpcException.InvalidArgument((e.Field, e.Description))</c>.
/// </summary>
public sealed class InvalidPageTokenException(Exception? inner = null)
    : Exception($"{FieldName} {DescriptionText}", inner)
{
    private const string FieldName = "page_token";
    private const string DescriptionText = "was not issued for this request; start again without one";

    public string Field => FieldName;

    public string Description => DescriptionText;
}
