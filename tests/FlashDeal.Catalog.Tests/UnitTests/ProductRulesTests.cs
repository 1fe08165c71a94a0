using FlashDeal.Catalog.Products;
using FlashDeal.Contracts.Catalog.V1;

namespace FlashDeal.Catalog.Tests.UnitTests;

public sealed class ProductRulesTests
{
    private static Product Valid() => new() { Name = "Kettle", ListPriceCents = 0, Currency = "EUR" };

    [Theory]
    [InlineData("USD", true)]
    [InlineData("usd", false)]
    [InlineData("US", false)]
    [InlineData("USD\n", false)]
    [InlineData("", false)]
    public void CurrencyIsThreeUpperCaseLetters(string currency, bool valid) => Assert.Equal(valid, ProductRules.IsCurrency(currency));

    [Theory]
    [InlineData("headphones", true)]
    [InlineData("smart-home-2", true)]
    [InlineData("Headphones", false)]
    [InlineData("head phones", false)]
    [InlineData("a\n", false)]
    public void CategoryIsASlug(string category, bool valid) => Assert.Equal(valid, ProductRules.IsCategory(category));

    [Fact]
    public void AFreeProductWithoutCategoryIsValid() => Assert.False(ProductRules.Check(Valid(), "product").Any);

    [Fact]
    public void OnlyTheNamedPathsAreCheckedForAnUpdate()
    {
        var changes = new Product { Description = "new text" };
        Assert.False(ProductRules.Check(changes, "product", new HashSet<string> { "description" }).Any);
        Assert.True(ProductRules.Check(changes, "product").Any);
    }

    [Fact]
    public void LikeWildcardsAreEscaped() => Assert.Equal(@"100\% \_x\\", ProductStore.EscapeLike(@"100% _x\"));
}
