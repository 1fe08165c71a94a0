namespace FlashDeal.LoadTool.Cli;

/// <summary>
/// Reads $FLASHDEAL_DATA/mesh.env (default .data/mesh.env), the KEY=value file `./flashdeal up` writes with the mesh's
/// addresses, store connections and admin account (AGREED.md), so `./flashdeal load spike` needs no options.
/// </summary>
public static class MeshEnv
{
    /// <summary>The file the defaults come from: --mesh-env, else $FLASHDEAL_DATA/mesh.env, else .data/mesh.env.</summary>
    public static string DefaultPath(Func<string, string?> environment) =>
        Path.Combine(environment("FLASHDEAL_DATA") is { Length: > 0 } data ? data : ".data", "mesh.env");

    /// <summary>An absent file is an empty set: every option then falls back to its built-in default.</summary>
    public static IReadOnlyDictionary<string, string> Load(string path) =>
        File.Exists(path) ? Parse(File.ReadAllLines(path)) : new Dictionary<string, string>();

    public static Dictionary<string, string> Parse(IEnumerable<string> lines)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line["export ".Length..].TrimStart();
            }
            var equals = line.IndexOf('=');
            if (equals <= 0)
            {
                continue;
            }
            var value = line[(equals + 1)..].Trim();
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
            }
            values[line[..equals].Trim()] = value;
        }
        return values;
    }
}
