using Platform.Runtime.Sagas;

namespace Shop.Orders.Demo;

/// <summary>
/// Orders placed and sagas ended, read every quarter second: one line rewritten in place on a
/// terminal, a line per tenth otherwise (a log or CI output gets ten lines, not hundreds).
/// </summary>
sealed class Progress(int orders, TextWriter output)
{
    readonly CancellationTokenSource _stop = new();
    readonly bool _inPlace = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
    int _placedTenth = -1, _endedTenth = -1, _written;

    public async Task RunAsync(Func<int> placed, SagaOperations sagas)
    {
        while (!_stop.IsCancellationRequested)
        {
            await ReportAsync(placed(), sagas);
            try
            {
                await Task.Delay(250, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                await ReportAsync(placed(), sagas);
            }
        }
        if (_inPlace)
            output.WriteLine();
    }

    public async Task StopAsync(Task running)
    {
        await _stop.CancelAsync();
        await running;
    }

    async Task ReportAsync(int placed, SagaOperations sagas)
    {
        var byState = await sagas.CountByStateAsync();
        long Count(string state) => byState.TryGetValue(state, out var n) ? n : 0;
        var ended = Summary.Ended(byState);
        var line = $"  placed {placed,7:N0}/{orders:N0}   sagas ended {ended,7:N0}/{orders:N0} " +
                   $"(Completed {Count("Completed"):N0}, Compensated {Count("Compensated"):N0}, CompensationFailed {Count("CompensationFailed"):N0})";
        if (_inPlace)
        {
            output.Write("\r" + line.PadRight(_written));
            _written = line.Length;
            return;
        }
        int placedTenth = (int)(10L * placed / orders), endedTenth = (int)(10 * ended / orders);
        if (placedTenth == _placedTenth && endedTenth == _endedTenth)
            return;
        (_placedTenth, _endedTenth) = (placedTenth, endedTenth);
        output.WriteLine(line);
    }
}
