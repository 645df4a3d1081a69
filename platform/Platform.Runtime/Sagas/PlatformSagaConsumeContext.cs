using MassTransit;
using MassTransit.Context;

namespace Platform.Runtime.Sagas;

/// <summary>
/// The consume context a saga's behaviour runs in. It is built on the repository context, so it
/// takes that context's receive context, and with it the step's outbox: everything the behaviour
/// sends, publishes or schedules is stored in the saga's transaction.
/// </summary>
sealed class PlatformSagaConsumeContext<TSaga, TMessage>(ConsumeContext<TMessage> context, TSaga saga)
    : ConsumeContextScope<TMessage>(context), SagaConsumeContext<TSaga, TMessage>
    where TSaga : class, ISaga
    where TMessage : class
{
    public TSaga Saga { get; } = saga;

    public bool IsCompleted { get; private set; }

    public Task SetCompleted()
    {
        IsCompleted = true;
        return Task.CompletedTask;
    }
}
