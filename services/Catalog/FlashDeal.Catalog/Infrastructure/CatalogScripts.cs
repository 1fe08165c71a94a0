using FlashDeal.Data.Redis;

namespace FlashDeal.Catalog.Infrastructure;

/// <summary>Lua scripts live as .lua files beside the code that runs them, embedded in the assembly.</summary>
public static class CatalogScripts
{
    /// <summary>"&lt;Folder&gt;/&lt;name&gt;.lua" (resource FlashDeal.Catalog.&lt;Folder&gt;.&lt;name&gt;.lua).</summary>
    public static RedisScript Load(string folder, string name) =>
        RedisScript.FromResource(typeof(CatalogScripts).Assembly, $"FlashDeal.Catalog.{folder}.{name}.lua");
}
