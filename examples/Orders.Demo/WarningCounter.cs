using Microsoft.Extensions.Logging;

namespace Shop.Orders.Demo;

/// <summary>
/// The host's logger: nothing on the console (the progress line owns it), but warnings and errors
/// are counted and the first is kept, so the summary and a failed run can say what went wrong.
/// </summary>
sealed class WarningCounter : ILoggerProvider, ILogger
{
    int _count;

    public int Count => Volatile.Read(ref _count);

    public string? First { get; private set; }

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
            return;
        if (Interlocked.Increment(ref _count) == 1)
            First = $"{logLevel}: {formatter(state, exception)}";
    }

    public void Dispose()
    {
    }
}
