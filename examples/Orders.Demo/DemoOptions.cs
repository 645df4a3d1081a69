using System.Globalization;

namespace Shop.Orders.Demo;

/// <summary>The demo's command line: <c>[count] [--orders N] [--payment-failures R] [--inventory-failures R] [--refund-failures R] [--seed N] [--timeout S]</c>.</summary>
sealed record DemoOptions(int Orders, double PaymentFailures, double InventoryFailures, double RefundFailures, int Seed, TimeSpan? GivenTimeout)
{
    /// <summary>How long the run may take before it gives up: given, else a minute plus 0.1 s per order.</summary>
    public TimeSpan Timeout => GivenTimeout ?? TimeSpan.FromSeconds(60 + Orders / 10.0);

    public const string Usage =
        "usage: Orders.Demo [count] [--orders N] [--payment-failures 0.05] [--inventory-failures 0.05] [--refund-failures 0] [--seed 42] [--timeout seconds]";

    public static DemoOptions Parse(string[] args)
    {
        var options = new DemoOptions(300, 0.05, 0.05, 0, 42, null);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                options = options with { Orders = Count(arg) };
                continue;
            }
            if (i + 1 >= args.Length)
                throw new ArgumentException($"{arg} needs a value");
            var value = args[++i];
            options = arg switch
            {
                "--orders" => options with { Orders = Count(value) },
                "--payment-failures" => options with { PaymentFailures = Rate(arg, value) },
                "--inventory-failures" => options with { InventoryFailures = Rate(arg, value) },
                "--refund-failures" => options with { RefundFailures = Rate(arg, value) },
                "--seed" => options with { Seed = int.Parse(value, CultureInfo.InvariantCulture) },
                "--timeout" => options with { GivenTimeout = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture)) },
                _ => throw new ArgumentException($"unknown option {arg}"),
            };
        }
        return options;
    }

    static int Count(string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"the order count must be a positive whole number, not '{value}'");

    static double Rate(string option, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate is >= 0 and <= 1
            ? rate
            : throw new ArgumentException($"{option} must be a rate between 0 and 1, not '{value}'");
}
