using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Auth.Tests;

/// <summary>A logger provider that keeps every formatted entry (message, exception, scopes) for assertions.</summary>
public sealed class LogCapture : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private IExternalScopeProvider? _scopes;

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            var scopes = new List<string>();
            owner._scopes?.ForEachScope((scope, list) => list.Add(scope?.ToString() ?? ""), scopes);
            owner._entries.Enqueue(new LogEntry(logLevel, category, formatter(state, exception),
                $"{state} {exception} {string.Join(" | ", scopes)}"));
        }
    }
}

/// <param name="Everything">The raw state, the exception with its stack and the active scopes, to search for leaks.</param>
public sealed record LogEntry(LogLevel Level, string Category, string Message, string Everything);
