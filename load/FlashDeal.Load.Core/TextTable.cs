using System.Text;

namespace FlashDeal.Load;

/// <summary>A table rendered either as aligned plain text (console) or as a GitHub Markdown table. Columns whose header
/// starts with '>' are right-aligned (numbers).</summary>
internal sealed class TextTable
{
    private readonly string[] _headers;
    private readonly bool[] _right;
    private readonly List<string[]> _rows = [];

    public TextTable(params string[] headers)
    {
        _right = [.. headers.Select(h => h.StartsWith('>'))];
        _headers = [.. headers.Select(h => h.TrimStart('>'))];
    }

    public void Add(params string[] cells) => _rows.Add(cells);

    public int Count => _rows.Count;

    public string ToText(string indent = "  ")
    {
        var widths = _headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        var text = new StringBuilder();
        void Line(string[] cells)
        {
            text.Append(indent);
            for (var i = 0; i < cells.Length; i++)
            {
                text.Append(_right[i] ? cells[i].PadLeft(widths[i]) : cells[i].PadRight(widths[i]));
                text.Append(i + 1 < cells.Length ? "  " : "");
            }
            text.Append('\n');
        }
        Line(_headers);
        Line([.. widths.Select(w => new string('-', w))]);
        foreach (var row in _rows)
        {
            Line(row);
        }
        return string.Join('\n', text.ToString().Split('\n').Select(line => line.TrimEnd()));
    }

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.Append("| ").AppendJoin(" | ", _headers.Select(Escape)).Append(" |\n");
        text.Append('|').AppendJoin("|", _right.Select(r => r ? "---:" : "---")).Append("|\n");
        foreach (var row in _rows)
        {
            text.Append("| ").AppendJoin(" | ", row.Select(Escape)).Append(" |\n");
        }
        return text.ToString();
    }

    private static string Escape(string cell) => cell.Replace("|", "\\|", StringComparison.Ordinal);
}
