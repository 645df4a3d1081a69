using Shop.Orders.Demo;

// The README's main job: the Orders example on the hosted runtime (Demo.RunAsync), on embedded
// defaults (SQLite, in-memory transport) or on PostgreSQL with RabbitMQ or Kafka.
DemoOptions options;
try
{
    options = DemoOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine("error: " + e.Message);
    Console.Error.WriteLine(DemoOptions.Usage);
    return 1;
}

try
{
    return (await Demo.RunAsync(options, Console.Out, Console.Error)).ExitCode;
}
catch (Exception e) when (e is System.Data.Common.DbException or MassTransit.MassTransitException or Confluent.Kafka.KafkaException or TimeoutException)
{
    // A store or broker that is not there: say which, and what to check, in one line.
    Console.Error.WriteLine($"error: {options.Describe()} could not be used ({e.Message.ReplaceLineEndings(" ")}); " +
                            "check --postgres, --rabbitmq and --kafka (or PLATFORM_POSTGRES and PLATFORM_RABBITMQ) and that the services run.");
    return 1;
}
