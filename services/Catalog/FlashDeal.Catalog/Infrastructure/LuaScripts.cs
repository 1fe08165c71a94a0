namespace FlashDeal.Catalog.Infrastructure;

/// <summary>Lua scripts live as .lua files beside the code that runs them, embedded in the assembly.</summary>
public static class LuaScripts
{
    /// <summary>Loads "&lt;Folder&gt;/&lt;name&gt;.lua" (resource FlashDeal.Catalog.&lt;Folder&gt;.&lt;name&gt;.lua).</summary>
    public static string Load(string folder, string name)
    {
        var resource = $"FlashDeal.Catalog.{folder}.{name}.lua";
        using var stream = typeof(LuaScripts).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded script {resource} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
