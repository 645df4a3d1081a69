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
        foreach (var start in saga.StartEvents) yield return start;
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

    /// <summary>
    /// The steps that may not run in a saga: their <c>when:</c> may not hold, or a handler moves the
    /// saga from an earlier step's state (or theirs) past them into a later step. The generated
    /// state records each such step's skip, and compensation passes over a skipped step.
    /// </summary>
    public static bool[] Skippable(SagaDefinition saga)
    {
        var skippable = new bool[saga.Steps.Count];
        for (var j = 0; j < saga.Steps.Count; j++)
            skippable[j] = !saga.Steps[j].When.IsEmpty;
        foreach (var handler in saga.Handlers)
        {
            if (handler is not { Outcome: SagaOutcome.TransitionTo, TargetState: { } target }) continue;
            var into = StepWaitingIn(saga, target.Name);
            for (var from = 0; from < into; from++)
            {
                if (!AppliesTo(handler, saga.Steps[from].State.Name)) continue;
                for (var j = from; j < into; j++) skippable[j] = true;
            }
        }
        return skippable;
    }

    /// <summary>The step that waits in <paramref name="state"/>, or -1.</summary>
    public static int StepWaitingIn(SagaDefinition saga, string state)
    {
        for (var j = 0; j < saga.Steps.Count; j++)
            if (saga.Steps[j].State.Name == state) return j;
        return -1;
    }

    /// <summary>Whether a handler applies in <paramref name="stateName"/> (no <c>in:</c>: in every step's state).</summary>
    public static bool AppliesTo(SagaEventHandler handler, string stateName)
    {
        if (handler.InStates.Count == 0) return true;
        foreach (var s in handler.InStates)
            if (s.Name == stateName) return true;
        return false;
    }
}
