using System.Globalization;
using System.Text.RegularExpressions;

namespace FlashDeal.Load;

/// <summary>Durations as the command line writes them: 500ms, 10s, 2m, 1h, 250us, 1.5s, and sums such as 1m30s.</summary>
public static partial class DurationText
{
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text) || !WholePattern().IsMatch(text.Trim()))
        {
            return false;
        }
        double micros = 0;
        foreach (Match part in PartPattern().Matches(text.Trim()))
        {
            var value = double.Parse(part.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
            micros += value * part.Groups["unit"].Value switch
            {
                "us" or "µs" => 1,
                "ms" => 1_000,
                "s" => 1_000_000,
                "m" => 60_000_000,
                _ => 3_600_000_000,
            };
        }
        if (micros > TimeSpan.MaxValue.TotalMicroseconds)
        {
            return false;
        }
        duration = TimeSpan.FromTicks((long)Math.Round(micros * 10));
        return true;
    }

    /// <summary>The shortest exact-enough text: 250us, 1.5ms, 10s, 2m, 1h30m.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration < TimeSpan.FromMilliseconds(1))
        {
            return Invariant($"{duration.TotalMicroseconds:0.#}us");
        }
        if (duration < TimeSpan.FromSeconds(1))
        {
            return Invariant($"{duration.TotalMilliseconds:0.##}ms");
        }
        if (duration < TimeSpan.FromMinutes(1) || duration.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            return Invariant($"{duration.TotalSeconds:0.###}s");
        }
        var text = "";
        if (duration.Hours + duration.Days * 24 > 0)
        {
            text += Invariant($"{(int)duration.TotalHours}h");
        }
        if (duration.Minutes > 0)
        {
            text += Invariant($"{duration.Minutes}m");
        }
        if (duration.Seconds > 0)
        {
            text += Invariant($"{duration.Seconds}s");
        }
        return text;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(?:[0-9]+(?:\.[0-9]+)?(?:us|µs|ms|s|m|h))+$")]
    private static partial Regex WholePattern();

    [GeneratedRegex(@"(?<value>[0-9]+(?:\.[0-9]+)?)(?<unit>us|µs|ms|s|m|h)")]
    private static partial Regex PartPattern();
}
