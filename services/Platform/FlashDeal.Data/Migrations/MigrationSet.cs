using System.Reflection;
using System.Text.RegularExpressions;

namespace FlashDeal.Data;

/// <summary>
/// All migrations of one service schema, ordered by version. A service embeds its <c>Migrations/NNNN_name.up.sql</c>
/// (and optional <c>NNNN_name.down.sql</c>) files as resources and loads them with <see cref="FromAssembly"/>.
/// </summary>
public sealed partial class MigrationSet
{
    public MigrationSet(string schema, IEnumerable<Migration> migrations)
    {
        if (!SchemaName().IsMatch(schema))
        {
            throw new ArgumentException(
                $"Schema name '{schema}' must be a lower-case SQL identifier ([a-z_][a-z0-9_]*).", nameof(schema));
        }
        var ordered = migrations.OrderBy(m => m.Version).ToList();
        var duplicate = ordered.GroupBy(m => m.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new MigrationException(
                $"Schema {schema}: version {duplicate.Key} is used by {string.Join(" and ", duplicate)}.");
        }
        Schema = schema;
        Migrations = ordered;
    }

    public string Schema { get; }

    public IReadOnlyList<Migration> Migrations { get; }

    public long LatestVersion => Migrations.Count == 0 ? 0 : Migrations[^1].Version;

    /// <summary>
    /// Loads every resource named <c>{resourcePrefix}.NNNN_name.up.sql</c> / <c>.down.sql</c>. With the default manifest
    /// names, files in a project's <c>Migrations/</c> folder have the prefix <c>{RootNamespace}.Migrations</c>.
    /// </summary>
    public static MigrationSet FromAssembly(Assembly assembly, string resourcePrefix, string schema)
    {
        var prefix = resourcePrefix.EndsWith('.') ? resourcePrefix : resourcePrefix + ".";
        var ups = new Dictionary<long, (string Name, string Sql)>();
        var downs = new Dictionary<long, (string Name, string Sql)>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var fileName = resource[prefix.Length..];
            if (!fileName.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }
            var match = FileName().Match(fileName);
            if (!match.Success)
            {
                throw new MigrationException(
                    $"Migration resource '{resource}' must be named NNNN_name.up.sql or NNNN_name.down.sql.");
            }
            var version = long.Parse(match.Groups["version"].Value, System.Globalization.CultureInfo.InvariantCulture);
            var target = match.Groups["direction"].Value == "up" ? ups : downs;
            if (!target.TryAdd(version, (match.Groups["name"].Value, ReadResource(assembly, resource))))
            {
                throw new MigrationException($"Schema {schema}: two {match.Groups["direction"].Value} files for version {version}.");
            }
        }
        if (ups.Count == 0)
        {
            var available = string.Join(", ", assembly.GetManifestResourceNames());
            throw new MigrationException(
                $"No migrations named '{prefix}NNNN_name.up.sql' in {assembly.GetName().Name}. Resources: {available}");
        }
        foreach (var (version, down) in downs)
        {
            if (!ups.TryGetValue(version, out var up) || up.Name != down.Name)
            {
                throw new MigrationException($"Schema {schema}: {version:D4}_{down.Name}.down.sql has no matching up file.");
            }
        }
        var migrations = ups.Select(u =>
            new Migration(u.Key, u.Value.Name, u.Value.Sql, downs.TryGetValue(u.Key, out var d) ? d.Sql : null));
        return new MigrationSet(schema, migrations);
    }

    private static string ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();

    [GeneratedRegex(@"^(?<version>\d+)_(?<name>[A-Za-z0-9_]+)\.(?<direction>up|down)\.sql$")]
    private static partial Regex FileName();
}
