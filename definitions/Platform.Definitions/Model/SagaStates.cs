using System.Collections.Generic;

namespace Platform.Definitions.Model;

/// <summary>
/// The states a saga's generated state machine has, and so the states a stored instance can be in:
/// the declared ones, each step's waiting state, a compensating state per compensation that waits
/// for a reply, and the final states. The generator names its states from here; the lock records them.
/// </summary>
public static class SagaStates
{
    /// <summary>The state a saga waits in while <paramref name="step"/>'s compensation runs.</summary>
    public static string Compensating(SagaStep step) => "Compensating" + step.Name;

    /// <summary>
    /// Every event the machine takes, where the definition names it (repeats included): the start
    /// event, each step's replies, each compensation's replies, the handlers' events.
    /// </summary>
    public static IEnumerable<NameRef> Events(SagaDefinition saga)
    {
        yield return saga.StartedBy;
        foreach (var step in saga.Steps)
        {
            foreach (var reply in step.OnSuccess) yield return reply;
            foreach (var reply in step.OnFailure) yield return reply;
            if (step.Compensation is { } compensation)
            {
                foreach (var reply in compensation.OnSuccess) yield return reply;
                foreach (var reply in compensation.OnFailure) yield return reply;
            }
        }
        foreach (var handler in saga.Handlers) yield return handler.Event;
    }

    /// <summary>Every state of the machine, in declaration order, each once.</summary>
    public static List<string> Of(SagaDefinition saga)
    {
        var states = new List<string>();
        void Add(string state)
        {
            if (!states.Contains(state)) states.Add(state);
        }
        foreach (var state in saga.States) Add(state.Name);
        foreach (var step in saga.Steps)
        {
            Add(step.State.Name);
            if (step.Compensation is { Waits: true }) Add(Compensating(step));
        }
        Add(saga.CompletedState.Name);
        Add(saga.CompensatedState.Name);
        Add(saga.CompensationFailedState.Name);
        return states;
    }
}
