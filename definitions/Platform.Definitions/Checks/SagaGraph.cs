using System.Collections.Generic;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;

namespace Platform.Definitions.Checks;

/// <summary>
/// The saga as a state graph: steps advance on success, failures and timeouts compensate the
/// completed steps in reverse order (ending compensated, or compensation-failed when a
/// compensation can fail), and 'on:' handlers add edges of their own.
/// </summary>
internal sealed class SagaGraph
{
    private const string Start = "<start>";

    private readonly CheckContext _context;
    private readonly SagaDefinition _saga;
    private readonly Dictionary<string, HashSet<string>> _edges = new();
    private readonly Dictionary<string, SourceSpan> _spans = new();
    private readonly List<string> _active = new();
    private readonly HashSet<string> _final;

    public SagaGraph(CheckContext context, SagaDefinition saga)
    {
        _context = context;
        _saga = saga;
        _final = new HashSet<string> { saga.CompletedState.Name, saga.CompensatedState.Name, saga.CompensationFailedState.Name };
        Build();
    }

    public void Check()
    {
        var declared = new HashSet<string>();
        foreach (var state in _saga.States) declared.Add(state.Name);
        if (declared.Count > 0)
        {
            foreach (var entry in _spans)
            {
                if (!declared.Contains(entry.Key)) _context.Report(DiagnosticCodes.UnknownReference, entry.Value, "State", entry.Key, " Add it to 'states:'.");
            }
        }

        var reachable = Reach(Start);
        foreach (var state in _saga.States)
        {
            if (!reachable.Contains(state.Name)) _context.Report(DiagnosticCodes.SagaUnreachableState, state.Span, _saga.Name, state.Name);
        }

        var canFinish = ReachingFinal();
        foreach (var state in _active)
        {
            if (reachable.Contains(state) && !canFinish.Contains(state)) _context.Report(DiagnosticCodes.SagaNoFinalState, _spans[state], state, _saga.Name);
        }

        foreach (var handler in _saga.Handlers)
        {
            if (handler.InStates.IsEmpty) continue;
            var covered = new HashSet<string>();
            foreach (var state in handler.InStates) covered.Add(state.Name);
            foreach (var state in _active)
            {
                if (reachable.Contains(state) && !covered.Contains(state))
                {
                    _context.Report(DiagnosticCodes.SagaUnhandledEvent, handler.Event.Span, handler.Event.Name, _saga.Name, state);
                }
            }
        }
    }

    private void Build()
    {
        var steps = _saga.Steps;
        for (var i = 0; i < steps.Count; i++) State(steps[i].State.Name, steps[i].State.Span);
        State(_saga.CompletedState.Name, _saga.CompletedState.Span);
        State(_saga.CompensatedState.Name, _saga.CompensatedState.Span);
        State(_saga.CompensationFailedState.Name, _saga.CompensationFailedState.Span);
        if (steps.IsEmpty) return;

        Edge(Start, steps[0].State.Name);
        for (var i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            if (!step.OnSuccess.IsEmpty) Edge(step.State.Name, i + 1 < steps.Count ? steps[i + 1].State.Name : _saga.CompletedState.Name);
            if (!step.OnFailure.IsEmpty || step.Timeout is not null || _saga.Timeout is not null) Compensate(step.State.Name, i);
        }

        foreach (var handler in _saga.Handlers)
        {
            var sources = new List<string>();
            if (handler.InStates.IsEmpty) sources.AddRange(_active);
            else foreach (var state in handler.InStates) sources.Add(state.Name);
            if (handler.TargetState is { } target) State(target.Name, target.Span);
            foreach (var state in handler.InStates) State(state.Name, state.Span);
            foreach (var source in sources)
            {
                switch (handler.Outcome)
                {
                    case SagaOutcome.Complete:
                        Edge(source, _saga.CompletedState.Name);
                        break;
                    case SagaOutcome.Compensate:
                        Compensate(source, IndexOf(source));
                        break;
                    case SagaOutcome.TransitionTo:
                        Edge(source, handler.TargetState!.Name);
                        break;
                }
            }
        }
    }

    /// <summary>From a state where steps before <paramref name="failedStep"/> completed.</summary>
    private void Compensate(string from, int failedStep)
    {
        Edge(from, _saga.CompensatedState.Name);
        // A compensation that can fail runs when any step at or after it fails.
        if (FirstFallibleCompensation() < failedStep) Edge(from, _saga.CompensationFailedState.Name);
    }

    private int? _firstFallibleCompensation;

    private int FirstFallibleCompensation()
    {
        if (_firstFallibleCompensation is { } known) return known;
        var first = int.MaxValue;
        for (var j = 0; j < _saga.Steps.Count; j++)
        {
            if (_saga.Steps[j].Compensation is { OnFailure.IsEmpty: false } or { Waits: true, Timeout: not null })
            {
                first = j;
                break;
            }
        }
        _firstFallibleCompensation = first;
        return first;
    }

    private int IndexOf(string state)
    {
        for (var i = 0; i < _saga.Steps.Count; i++)
        {
            if (_saga.Steps[i].State.Name == state) return i;
        }
        // A state of the saga's own (entered from a handler) may follow any step.
        return _saga.Steps.Count;
    }

    private void State(string name, SourceSpan span)
    {
        if (_spans.ContainsKey(name)) return;
        _spans[name] = span;
        if (!_final.Contains(name)) _active.Add(name);
    }

    private void Edge(string from, string to)
    {
        if (!_edges.TryGetValue(from, out var targets)) _edges[from] = targets = new HashSet<string>();
        targets.Add(to);
    }

    /// <summary>States with a path to a final state: one backwards search, not one search per state.</summary>
    private HashSet<string> ReachingFinal()
    {
        var reverse = new Dictionary<string, List<string>>();
        foreach (var edge in _edges)
        {
            foreach (var target in edge.Value)
            {
                if (!reverse.TryGetValue(target, out var sources)) reverse[target] = sources = new List<string>();
                sources.Add(edge.Key);
            }
        }
        var seen = new HashSet<string>(_final);
        var stack = new Stack<string>(_final);
        while (stack.Count > 0)
        {
            if (!reverse.TryGetValue(stack.Pop(), out var sources)) continue;
            foreach (var source in sources)
            {
                if (seen.Add(source)) stack.Push(source);
            }
        }
        return seen;
    }

    private HashSet<string> Reach(string from)
    {
        var seen = new HashSet<string>();
        var stack = new Stack<string>();
        stack.Push(from);
        while (stack.Count > 0)
        {
            var current = stack.Pop();
            if (!_edges.TryGetValue(current, out var targets)) continue;
            foreach (var target in targets)
            {
                if (seen.Add(target)) stack.Push(target);
            }
        }
        return seen;
    }
}
