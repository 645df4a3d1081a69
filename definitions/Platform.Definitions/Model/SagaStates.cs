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
