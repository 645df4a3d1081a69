using System.Collections.Generic;
using Platform.Definitions.Model;

namespace Platform.Generators.Emit;

/// <summary>Decisions about a saga's flow shared by the state machine emitter and the diagrams.</summary>
public static class SagaPlan
{
    /// <summary>
    /// The step to compensate first when the flow stops before step <paramref name="failedStep"/>:
    /// the nearest earlier step that has a compensation, or -1 when nothing needs undoing.
    /// </summary>
    public static int CompensationTarget(SagaDefinition saga, int failedStep)
    {
        var target = failedStep - 1;
        while (target >= 0 && saga.Steps[target].Compensation is null) target--;
        return target;
    }

    /// <summary>
    /// What compensating runs at once when the flow stops before step <paramref name="failedStep"/>:
    /// the compensations that wait for no reply, sent one after the other (latest step first), then
    /// the first that waits for its reply, whose state the saga goes to (-1: none, the saga ends compensated).
    /// </summary>
    public static (List<int> Sent, int Waiting) CompensationPath(SagaDefinition saga, int failedStep)
    {
        var sent = new List<int>();
        var target = CompensationTarget(saga, failedStep);
        while (target >= 0 && saga.Steps[target].Compensation is { Waits: false })
        {
            sent.Add(target);
            target = CompensationTarget(saga, target);
        }
        return (sent, target);
    }

    /// <summary>The state a saga waits in while step <paramref name="step"/>'s compensation runs.</summary>
    public static string CompensatingState(SagaStep step) => SagaStates.Compensating(step);
}
