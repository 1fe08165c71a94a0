using System.Collections;

namespace FlashDeal.Grpc;

/// <summary>
/// gRPC metadata: ordered key/value pairs carried in HTTP/2 headers and trailers. Keys are lower case;
/// keys ending in "-bin" carry bytes (base64 on the wire), all others ASCII strings.
/// </summary>
public sealed class Metadata : IList<Metadata.Entry>
{
    public const string BinaryHeaderSuffix = "-bin";

    private readonly List<Entry> _entries = [];

    public static Metadata Empty => new();

    public void Add(string key, string value) => _entries.Add(new Entry(key, value));

    public void Add(string key, byte[] value) => _entries.Add(new Entry(key, value));

    public Entry? Get(string key)
    {
        key = key.ToLowerInvariant();
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            if (_entries[i].Key == key)
            {
                return _entries[i];
            }
        }
        return null;
    }

    public string? GetValue(string key) => Get(key)?.Value;

    public byte[]? GetValueBytes(string key) => Get(key)?.ValueBytes;

    public IEnumerable<Entry> GetAll(string key)
    {
        key = key.ToLowerInvariant();
        return _entries.Where(e => e.Key == key);
    }

    /// <summary>Metadata keys are ASCII letters, digits, '-', '_' and '.'; other HTTP header names cannot be metadata.</summary>
    public static bool IsValidKey(string key) =>
        key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    public static bool IsBinaryKey(string key) => key.EndsWith(BinaryHeaderSuffix, StringComparison.OrdinalIgnoreCase);

    public Entry this[int index] { get => _entries[index]; set => _entries[index] = value; }

    public int Count => _entries.Count;

    public bool IsReadOnly => false;

    public void Add(Entry item) => _entries.Add(item);

    public void Clear() => _entries.Clear();

    public bool Contains(Entry item) => _entries.Contains(item);

    public void CopyTo(Entry[] array, int arrayIndex) => _entries.CopyTo(array, arrayIndex);

    public IEnumerator<Entry> GetEnumerator() => _entries.GetEnumerator();

    public int IndexOf(Entry item) => _entries.IndexOf(item);

    public void Insert(int index, Entry item) => _entries.Insert(index, item);

    public bool Remove(Entry item) => _entries.Remove(item);

    public void RemoveAt(int index) => _entries.RemoveAt(index);

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>One metadata pair. String keys hold Value, "-bin" keys hold ValueBytes.</summary>
    public sealed class Entry
    {
        private readonly string? _value;
        private readonly byte[]? _bytes;

        public Entry(string key, string value)
        {
            Key = NormalizeKey(key);
            if (IsBinary)
            {
                throw new ArgumentException($"Key '{key}' ends in -bin and needs a byte[] value.", nameof(key));
            }
            _value = value ?? throw new ArgumentNullException(nameof(value));
        }

        public Entry(string key, byte[] value)
        {
            Key = NormalizeKey(key);
            if (!IsBinary)
            {
                throw new ArgumentException($"Key '{key}' carries bytes and must end in -bin.", nameof(key));
            }
            _bytes = value ?? throw new ArgumentNullException(nameof(value));
        }

        public string Key { get; }

        public bool IsBinary => IsBinaryKey(Key);

        public string Value => _value ?? throw new InvalidOperationException($"'{Key}' is a binary entry; read ValueBytes.");

        public byte[] ValueBytes => _bytes ?? throw new InvalidOperationException($"'{Key}' is a string entry; read Value.");

        public override string ToString() => IsBinary ? $"{Key}: <{_bytes!.Length} bytes>" : $"{Key}: {_value}";

        private static string NormalizeKey(string key)
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            if (!IsValidKey(key))
            {
                throw new ArgumentException($"Metadata key '{key}' has a character other than [A-Za-z0-9-_.].", nameof(key));
            }
            return key.ToLowerInvariant();
        }
    }
}
