using MassTransit;
using Platform.Events;

namespace Platform.Sagas.Tests;

/// <summary>Starts a counter saga.</summary>
public sealed record StartCounting(Guid CorrelationId) : CorrelatedBy<Guid>;

/// <summary>Adds one to a counter saga: two of these at once must both count.</summary>
public sealed record Increment(Guid CorrelationId) : CorrelatedBy<Guid>;

/// <summary>A hand-written saga state with a version, like the generated ones.</summary>
public sealed class CounterState : SagaStateMachineInstance, ISagaVersion
{
    public Guid CorrelationId { get; set; }

    public string CurrentState { get; set; } = "";

    public int Version { get; set; }

    public int Count { get; set; }
}

/// <summary>A hand-written MassTransit state machine hosted by the platform like a generated one.</summary>
public sealed class CounterStateMachine : MassTransitStateMachine<CounterState>
{
    public State Counting { get; private set; } = null!;

    public Event<StartCounting> Start { get; private set; } = null!;

    public Event<Increment> Incremented { get; private set; } = null!;

    public CounterStateMachine()
    {
        InstanceState(x => x.CurrentState);
        Event(() => Start, x => x.CorrelateById(context => context.Message.CorrelationId));
        Event(() => Incremented, x => x.CorrelateById(context => context.Message.CorrelationId));
        Initially(When(Start).TransitionTo(Counting));
        During(Counting, When(Incremented).Then(context => context.Saga.Count++));
    }
}

/// <summary>A domain class shaped like a generated one, listing only the counter saga.</summary>
public static class CounterDomain
{
    public static IReadOnlyList<EventTypeDescriptor> EventTypes { get; } = [];

    public static IReadOnlyList<object> Aggregates { get; } = [];

    public static IReadOnlyList<Type> Projections { get; } = [];

    public static IReadOnlyList<(Type StateMachine, Type State)> Sagas { get; } = [(typeof(CounterStateMachine), typeof(CounterState))];

    public static IReadOnlyList<Type> Reactions { get; } = [];
}
