using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Platform.Definitions;
using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>
/// An orchestrated saga as a MassTransit state machine: the state class (with a version for
/// optimistic concurrency), timeout messages, the alert published when a compensation fails, and a
/// partial <c>MassTransitStateMachine</c>. Steps run in order, each only when its <c>when:</c>
/// holds; a failure, a step timeout, the saga timeout or a declared compensate-event compensates the
/// completed steps in reverse order, each waiting for its own reply, passing over the skipped ones.
/// Every branch is written out here, at generation time; the only choices left to run time are the
/// steps' conditions and which steps were skipped.
/// </summary>
internal sealed class SagaEmitter
{
    readonly SagaDefinition saga;
    readonly TypeIndex index;
    readonly string state;
    readonly Dictionary<string, FieldDefinition> data = new();
    readonly List<FieldDefinition> fields;
    readonly bool[] skippable;
    int branches;

    SagaEmitter(SagaDefinition saga, TypeIndex index)
    {
        this.saga = saga;
        this.index = index;
        state = saga.Name + "State";
        // The saga's data, and its key when the data does not declare it: the checks take it from
        // the start event (SagaChecks), so a command's field of that name is filled from it.
        fields = new List<FieldDefinition>(saga.Data);
        if (!fields.Exists(field => field.Name == saga.CorrelateBy)
            && index.FindMessage(saga.StartedBy.Name) is { } start && Expressions.EventTypes(start, index)(saga.CorrelateBy) is { } key)
            fields.Insert(0, new FieldDefinition(saga.CorrelateBy, key, null, null, default));
        foreach (var field in fields) data[field.Name] = field;
        skippable = SagaStates.Skippable(saga);
    }

    public static void Emit(CodeWriter w, SagaDefinition saga, TypeIndex index) =>
        new SagaEmitter(saga, index).Emit(w);

    void Emit(CodeWriter w)
    {
        EmitState(w);
        w.Line();
        EmitMessages(w);
        w.Line();
        EmitMachine(w);
    }

    string Machine => saga.Name + "StateMachine";

    string Timeout(SagaStep step) => saga.Name + step.Name + "Timeout";

    string CompensationTimeout(SagaStep step) => saga.Name + step.Name + "CompensationTimeout";

    static bool HasCompensationTimeout(SagaStep step) => step.Compensation is { Waits: true, Timeout: not null };

    static string CompensatingState(SagaStep step) => SagaPlan.CompensatingState(step);

    void EmitState(CodeWriter w)
    {
        w.Line($"/// <summary>The persisted state of one <c>{saga.Name}</c> saga.</summary>");
        w.Line(SourceFile.GeneratedCode);
        using (w.Block($"public sealed partial class {state} : global::MassTransit.SagaStateMachineInstance, global::MassTransit.ISagaVersion"))
        {
            w.Line("public global::System.Guid CorrelationId { get; set; }");
            w.Line();
            w.Line("/// <summary>The state's name, as MassTransit records it.</summary>");
            w.Line("public string CurrentState { get; set; } = \"\";");
            w.Line();
            w.Line("/// <summary>Incremented on every save; a stale write is a concurrency conflict.</summary>");
            w.Line("public int Version { get; set; }");
            w.Line();
            foreach (var field in fields)
            {
                var initial = CSharpTypes.Default(field.Type, saga.Namespace, index);
                var init = initial is "default" or "null" ? string.Empty : $" = {initial};";
                w.Line($"public {CSharpTypes.Of(field.Type, saga.Namespace, index)} {Names.Pascal(field.Name)} {{ get; set; }}{init}");
            }
            w.Line();
            w.Line("/// <summary>Why the saga stopped going forward: the failure event, or which timeout fired.</summary>");
            w.Line("public string? FailureReason { get; set; }");
            for (var i = 0; i < saga.Steps.Count; i++)
            {
                var step = saga.Steps[i];
                if (skippable[i]) w.Line($"/// <summary>Whether step {step.Name} was skipped (its condition did not hold, or a handler moved past it): compensation passes over it.</summary>");
                if (skippable[i]) w.Line($"public bool {step.Name}Skipped {{ get; set; }}");
                if (step.Timeout is not null) w.Line($"public global::System.Guid? {step.Name}TimeoutTokenId {{ get; set; }}");
                if (step.Compensation is not null) w.Line($"/// <summary>Outcome of compensating {step.Name}: null until tried, then the reply event's name, \"sent\" (no reply awaited) or \"timed out\".</summary>");
                if (step.Compensation is not null) w.Line($"public string? {step.Name}Compensation {{ get; set; }}");
                if (HasCompensationTimeout(step)) w.Line($"public global::System.Guid? {step.Name}CompensationTimeoutTokenId {{ get; set; }}");
            }
            if (saga.Timeout is not null) w.Line("public global::System.Guid? SagaTimeoutTokenId { get; set; }");
        }
    }

    void EmitMessages(CodeWriter w)
    {
        foreach (var step in saga.Steps)
        {
            if (step.Timeout is null) continue;
            w.Line($"/// <summary>Scheduled when step {step.Name} starts; cancelled when it replies.</summary>");
            w.Line(SourceFile.GeneratedCode);
            w.Line($"public sealed record {Timeout(step)}(global::System.Guid CorrelationId) : global::MassTransit.CorrelatedBy<global::System.Guid>;");
            w.Line();
        }
        foreach (var step in saga.Steps)
        {
            if (!HasCompensationTimeout(step)) continue;
            w.Line($"/// <summary>Scheduled when the compensation of step {step.Name} is sent; cancelled when it replies. When it fires, the compensation counts as failed.</summary>");
            w.Line(SourceFile.GeneratedCode);
            w.Line($"public sealed record {CompensationTimeout(step)}(global::System.Guid CorrelationId) : global::MassTransit.CorrelatedBy<global::System.Guid>;");
            w.Line();
        }
        if (saga.Timeout is not null)
        {
            w.Line($"/// <summary>Scheduled when the saga starts; cancelled when it ends.</summary>");
            w.Line(SourceFile.GeneratedCode);
            w.Line($"public sealed record {saga.Name}Timeout(global::System.Guid CorrelationId) : global::MassTransit.CorrelatedBy<global::System.Guid>;");
            w.Line();
        }
        w.Line($"/// <summary>Published when a compensation of <c>{saga.Name}</c> fails: the saga waits in <c>{saga.CompensationFailedState.Name}</c> for an operator.</summary>");
        w.Line(SourceFile.GeneratedCode);
        w.Line($"public sealed record {saga.Name}CompensationFailed(global::System.Guid CorrelationId, string Step, string Reason) : global::MassTransit.CorrelatedBy<global::System.Guid>;");
    }

    void EmitMachine(CodeWriter w)
    {
        var events = Events();
        w.Line($"/// <summary>The <c>{saga.Name}</c> orchestration.</summary>");
        w.Line(SourceFile.GeneratedCode);
        using (w.Block($"public sealed partial class {Machine} : global::MassTransit.MassTransitStateMachine<{state}>"))
        {
            foreach (var name in States())
                w.Line($"public global::MassTransit.State {name} {{ get; private set; }} = null!;");
            w.Line();
            foreach (var (name, message) in events)
                w.Line($"public global::MassTransit.Event<{Names.Global(message.Namespace, message.Name)}> {name} {{ get; private set; }} = null!;");
            w.Line();
            foreach (var step in saga.Steps)
                if (step.Timeout is not null)
                    w.Line($"public global::MassTransit.Schedule<{state}, {Timeout(step)}> {step.Name}Timeout {{ get; private set; }} = null!;");
            foreach (var step in saga.Steps)
                if (HasCompensationTimeout(step))
                    w.Line($"public global::MassTransit.Schedule<{state}, {CompensationTimeout(step)}> {step.Name}CompensationTimeout {{ get; private set; }} = null!;");
            if (saga.Timeout is not null)
                w.Line($"public global::MassTransit.Schedule<{state}, {saga.Name}Timeout> SagaTimeout {{ get; private set; }} = null!;");
            w.Line();
            EmitPersonalData(w);
            EmitHooks(w);
            using (w.Block($"public {Machine}()"))
            {
                w.Line("InstanceState(x => x.CurrentState);");
                if (!saga.Where.IsEmpty) w.Line("SetCompletedWhenFinalized(); // only a start event that fails 'where:' finalizes");
                w.Line();
                foreach (var (name, message) in events)
                    w.Line($"Event(() => {name}, x => x.CorrelateById(context => {Correlation(message, "context")}));");
                foreach (var step in saga.Steps)
                    if (step.Timeout is { } timeout) EmitSchedule(w, step.Name + "Timeout", timeout);
                foreach (var step in saga.Steps)
                    if (HasCompensationTimeout(step)) EmitSchedule(w, step.Name + "CompensationTimeout", step.Compensation!.Timeout!);
                if (saga.Timeout is { } sagaTimeout) EmitSchedule(w, "SagaTimeout", sagaTimeout);
                EmitInitially(w);
                for (var i = 0; i < saga.Steps.Count; i++)
                    EmitStep(w, i);
                for (var i = 0; i < saga.Steps.Count; i++)
                    if (saga.Steps[i].Compensation is { Waits: true }) EmitCompensationStep(w, i);
                for (var i = 0; i < saga.Steps.Count; i++)
                    if (saga.Steps[i].Compensation is not null) EmitLateReplies(w, i);
                w.Line();
                w.Line("OnUnhandledEvent(HandleUnhandledEvent);");
            }
            w.Line();
            using (w.Block($"global::System.Threading.Tasks.Task HandleUnhandledEvent(global::MassTransit.UnhandledEventContext<{state}> context)"))
            {
                w.Line(saga.OnUnexpected == UnexpectedEventPolicy.DeadLetter
                    ? "var deadLetter = true; // onUnexpected: deadLetter"
                    : "var deadLetter = false; // onUnexpected: ignore");
                w.Line("OnUnexpectedEvent(context, ref deadLetter);");
                w.Line("// Never silent: the saga id, its state and the policy taken go to the log (MassTransit's LogContext,");
                w.Line("// which the platform's saga repository points at the host's logger factory).");
                w.Line($"global::MassTransit.LogContext.Warning?.Log(\"{saga.Name} {{CorrelationId}}: {{Event}} arrived in state {{State}}, which does not handle it; {{Policy}}\",");
                w.Line("    context.Saga.CorrelationId, context.Event.Name, context.Saga.CurrentState, deadLetter ? \"dead-lettered\" : \"ignored\");");
                w.Line("return deadLetter ? context.Throw() : context.Ignore();");
            }
            if (saga.Timeout?.Deadline is not null || saga.Steps.Any(step => step.Timeout?.Deadline is not null))
            {
                w.Line();
                w.Line("/// <summary>How long until a deadline from the saga's data: one already passed is due at once.</summary>");
                using (w.Block("static global::System.TimeSpan Until(global::System.DateTimeOffset deadline)"))
                {
                    w.Line("var delay = deadline - global::System.DateTimeOffset.UtcNow;");
                    w.Line("return delay > global::System.TimeSpan.Zero ? delay : global::System.TimeSpan.Zero;");
                }
            }
            w.Line();
            w.Line("/// <summary>A saga correlated by a non-guid key gets a stable guid derived from the key's text.</summary>");
            using (w.Block("static global::System.Guid KeyToGuid(string? key)"))
            {
                w.Line("var hash = global::System.Security.Cryptography.SHA256.HashData(global::System.Text.Encoding.UTF8.GetBytes(key ?? \"\"));");
                w.Line("return new global::System.Guid(new global::System.ReadOnlySpan<byte>(hash, 0, 16));");
            }
            w.Line();
            // An aggregate's event carries its id as the stream id: a guid is the saga's id, another key
            // (text or a number, as its invariant text) maps as the same key in a message's field does.
            var byGuid = data.TryGetValue(saga.CorrelateBy, out var key) && key.Type is { Kind: TypeKind.Primitive, Primitive: PrimitiveType.Guid };
            using (w.Block($"static global::System.Guid FromStream(global::MassTransit.ConsumeContext context)"))
            {
                w.Line($"var streamId = context.Headers.Get<string>(global::Platform.Messaging.PlatformHeaders.StreamId);");
                w.Line(byGuid ? "if (streamId is null || !global::System.Guid.TryParse(streamId, out var id))" : "if (streamId is null)");
                w.Line($"    throw new global::System.InvalidOperationException({CSharpLiteral.String(saga.Name + ": the message has no " )} + global::Platform.Messaging.PlatformHeaders.StreamId + {CSharpLiteral.String(byGuid ? " header with a guid to correlate by" : " header to correlate by")});");
                w.Line(byGuid ? "return id;" : "return KeyToGuid(streamId);");
            }
        }
    }

    /// <summary>Configures the schedule <paramref name="name"/> (its token in <c>{name}TokenId</c>), correlated by the saga's id.</summary>
    /// <remarks>A deadline (<c>timeout: $paymentDueAt</c>) is read from the saga's data each time the timeout is scheduled.</remarks>
    static void EmitSchedule(CodeWriter w, string name, Duration delay)
    {
        w.Line($"Schedule(() => {name}, x => x.{name}TokenId, s =>");
        w.Line("{");
        w.Line(delay.Deadline is { } deadline
            ? $"    s.DelayProvider = context => Until(context.Saga.{Names.Pascal(deadline)}{Expressions.DeadlineOffset(delay)}); // {delay.Text}"
            : $"    s.Delay = global::System.TimeSpan.FromMilliseconds({delay.Milliseconds.ToString(CultureInfo.InvariantCulture)});");
        w.Line("    s.Received = r => r.CorrelateById(context => context.Message.CorrelationId);");
        w.Line("});");
    }

    void EmitHooks(CodeWriter w)
    {
        w.Line("/// <summary>Hand-written logic when the saga starts, after its data is copied from the start event.</summary>");
        w.Line($"partial void OnStarted({state} saga);");
        w.Line("/// <summary>Hand-written logic when the last step succeeded.</summary>");
        w.Line($"partial void OnCompleted({state} saga);");
        w.Line("/// <summary>Hand-written logic when every completed step was compensated.</summary>");
        w.Line($"partial void OnCompensated({state} saga);");
        w.Line("/// <summary>Hand-written logic when a compensation failed and the saga waits for an operator.</summary>");
        w.Line($"partial void OnCompensationFailed({state} saga, string step);");
        w.Line("/// <summary>An event arrived in a state that does not handle it: <paramref name=\"deadLetter\"/> starts as the declared <c>onUnexpected</c> policy; set it to change that.</summary>");
        w.Line($"partial void OnUnexpectedEvent(global::MassTransit.UnhandledEventContext<{state}> context, ref bool deadLetter);");
        w.Line();
    }

    List<string> States() => SagaStates.Of(saga);

    List<(string Name, MessageShape Message)> Events()
    {
        var events = new List<(string, MessageShape)>();
        var seen = new HashSet<string>();
        foreach (var reference in SagaStates.Events(saga))
        {
            var message = index.FindMessage(reference.Name);
            if (message is not null && seen.Add(message.Name)) events.Add((message.Name, message));
        }
        return events;
    }

    /// <summary>
    /// The data fields that hold personal data (<see cref="PersonalData.SagaFields"/>), by property,
    /// and which saga a stored start event started: what erasing the start event's stream needs to
    /// find and overwrite them in the saga's row. Nothing for a saga without.
    /// </summary>
    void EmitPersonalData(CodeWriter w)
    {
        var personal = PersonalData.SagaFields(saga, name =>
        {
            var names = new HashSet<string>();
            if (index.FindMessage(name) is { IsEvent: true } message)
                foreach (var field in message.Fields)
                    if (field.IsPersonal) names.Add(field.Name);
            return names;
        });
        var starts = new List<MessageShape>();
        foreach (var reference in saga.StartEvents)
            if (index.FindMessage(reference.Name) is { } message && !starts.Contains(message)) starts.Add(message);
        if (personal.Count == 0 || starts.Count == 0) return;
        const string Field = "global::Platform.Events.PersonalField";
        var fields = new List<string>();
        foreach (var field in personal)
            fields.Add($"new {Field}({CSharpLiteral.String(Names.Pascal(field.Name))}, {CSharpLiteral.String(PersonalData.ErasedJson(field.Type) ?? "null")})");
        w.Line("/// <summary>The data fields that hold personal data, by property, and the JSON an erasure of the stream that started the saga writes over them.</summary>");
        w.Line($"public static global::System.Collections.Generic.IReadOnlyList<{Field}> PersonalFields {{ get; }} = new {Field}[] {{ {string.Join(", ", fields)} }};");
        w.Line();
        w.Line("/// <summary>The saga a stored event started, correlated as the machine correlates its start event; null for another event.</summary>");
        w.Open("public static global::System.Guid? StartedBy(global::Platform.Events.EventEnvelope envelope) => envelope.Event switch");
        for (var i = 0; i < starts.Count; i++)
            w.Line($"{Names.Global(starts[i].Namespace, starts[i].Name)} message{i} => {StoredCorrelation(starts[i], "message" + i.ToString(CultureInfo.InvariantCulture), "id" + i.ToString(CultureInfo.InvariantCulture))},");
        w.Line("_ => null,");
        w.Close(";");
        w.Line();
    }

    /// <summary><see cref="Correlation"/> of a stored start event (<c>message</c>, in <c>envelope</c>).</summary>
    string StoredCorrelation(MessageShape message, string variable, string id)
    {
        foreach (var field in message.Fields)
        {
            if (field.Name != saga.CorrelateBy) continue;
            var access = $"{variable}.{Names.Pascal(field.Name)}";
            if (field.Type.StartsWith("global::System.Guid", System.StringComparison.Ordinal))
                return field.IsOptional ? access + ".GetValueOrDefault()" : access;
            var text = field.Type == "string" || field.Type == "string?" ? access : $"global::System.Convert.ToString({access}, global::System.Globalization.CultureInfo.InvariantCulture)";
            return $"KeyToGuid({text})";
        }
        var byGuid = data.TryGetValue(saga.CorrelateBy, out var key) && key.Type is { Kind: TypeKind.Primitive, Primitive: PrimitiveType.Guid };
        return byGuid ? $"(global::System.Guid.TryParse(envelope.StreamId, out var {id}) ? {id} : null)" : "KeyToGuid(envelope.StreamId)";
    }

    /// <summary>How a message finds its saga: its correlateBy field, or the stream id of an aggregate event.</summary>
    string Correlation(MessageShape message, string context)
    {
        foreach (var field in message.Fields)
        {
            if (field.Name != saga.CorrelateBy) continue;
            var access = $"{context}.Message.{Names.Pascal(field.Name)}";
            if (field.Type.StartsWith("global::System.Guid", System.StringComparison.Ordinal))
                return field.IsOptional ? access + ".GetValueOrDefault()" : access;
            var text = field.Type == "string" || field.Type == "string?" ? access : $"global::System.Convert.ToString({access}, global::System.Globalization.CultureInfo.InvariantCulture)";
            return $"KeyToGuid({text})";
        }
        return $"FromStream({context})";
    }

    ExpressionScope SagaScope(string context) =>
        new(name => $"{context}.Saga.{Names.Pascal(name)}", ExpressionScope.FromEnvelope("null", nullable: true), ExpressionScope.Types(fields));

    void EmitInitially(CodeWriter w)
    {
        if (saga.Steps.Count == 0) return;
        var starts = new List<MessageShape>();
        foreach (var reference in saga.StartEvents)
            if (index.FindMessage(reference.Name) is { } message && !starts.Contains(message)) starts.Add(message);
        if (starts.Count == 0) return;
        var initially = new List<List<string>>();
        foreach (var start in starts) initially.Add(Start(start));
        WriteBlock(w, "Initially(", initially);
        if (starts.Count < 2) return;
        // Whichever start event came first started the saga; the others are expected, and change nothing.
        var ignored = new List<List<string>>();
        foreach (var start in starts) ignored.Add([$"Ignore({start.Name})"]);
        WriteBlock(w, $"During(new[] {{ {string.Join(", ", States())} }},", ignored);
    }

    /// <summary>What one start event does in <c>Initially</c>: copy its fields into the data, start the first step.</summary>
    List<string> Start(MessageShape start)
    {
        var chain = new List<string> { ".Then(context =>", "{" };
        var startFields = Expressions.EventFields("context.Message", start, index,
            "context.Headers.Get<string>(global::Platform.Messaging.PlatformHeaders.StreamId)", mayBeNull: true);
        var startTypes = Expressions.EventTypes(start, index);
        foreach (var field in fields)
        {
            if (field.Name == saga.CorrelateBy && field.Type is { Kind: TypeKind.Primitive, Primitive: PrimitiveType.Guid })
            {
                chain.Add($"    context.Saga.{Names.Pascal(field.Name)} = context.Saga.CorrelationId;");
                continue;
            }
            // By name, from the event's fields or, for an aggregate's event, the aggregate id it carries as its stream id.
            if (startTypes(field.Name) is { } source)
                chain.Add($"    context.Saga.{Names.Pascal(field.Name)} = {Expressions.Convert(startFields(field.Name), source, field.Type, saga.Namespace, index)};");
        }
        chain.Add("    OnStarted(context.Saga);");
        chain.Add("})");
        if (saga.Timeout is not null)
            chain.Add($".Schedule(SagaTimeout, context => new {saga.Name}Timeout(context.Saga.CorrelationId))");
        StartStep(chain, 0);
        var when = new List<string> { $"When({start.Name})" };
        if (saga.Where.IsEmpty)
        {
            when.AddRange(chain);
            return when;
        }
        // An event that fails the saga's where: starts none: the instance MassTransit made for it
        // is finalized, and a finalized instance is completed, so the repository never saves it.
        var scope = new ExpressionScope(startFields, _ => "default", startTypes);
        var tests = new List<string>();
        foreach (var condition in saga.Where)
            tests.Add(Conditions.Of(condition, scope.Field(condition.Subject), scope.TypeOf(condition.Subject), scope, saga.Namespace, index));
        Branch(when, string.Join(" && ", tests), "starts", starts => starts.AddRange(chain), "ignores", ignores => ignores.Add(".Finalize()"));
        return when;
    }

    /// <summary>Writes <c>During(state, When(..)..., When(..)...);</c>, one indented chain per event.</summary>
    static void WriteBlock(CodeWriter w, string opening, List<List<string>> chains)
    {
        if (chains.Count == 0) return;
        w.Line();
        w.Line(opening);
        for (var c = 0; c < chains.Count; c++)
        {
            var chain = chains[c];
            for (var l = 0; l < chain.Count; l++)
            {
                var indent = l == 0 ? "    " : "        ";
                var end = l + 1 < chain.Count ? "" : c + 1 < chains.Count ? "," : ");";
                w.Line(indent + chain[l] + end);
            }
        }
    }

    /// <summary>
    /// Starts step <paramref name="i"/>: sends its command, schedules its timeout and waits in its
    /// state. A step whose <c>when:</c> does not hold is marked skipped and the next one starts; past
    /// the last step the saga completes.
    /// </summary>
    void StartStep(List<string> chain, int i)
    {
        if (i >= saga.Steps.Count)
        {
            Complete(chain);
            return;
        }
        var step = saga.Steps[i];
        if (step.When.IsEmpty)
        {
            RunStep(chain, i);
            return;
        }
        var scope = SagaScope("context");
        var tests = new List<string>();
        foreach (var condition in step.When)
            tests.Add(Conditions.Of(condition, scope.Field(condition.Subject), scope.TypeOf(condition.Subject), scope, saga.Namespace, index));
        Branch(chain, string.Join(" && ", tests), "runs", runs => RunStep(runs, i), "skips", skips =>
        {
            skips.Add($".Then(context => context.Saga.{step.Name}Skipped = true)");
            StartStep(skips, i + 1);
        });
    }

    void RunStep(List<string> chain, int i)
    {
        var step = saga.Steps[i];
        // Started again after a handler moved the saga back to it: it runs, so it is compensated.
        if (skippable[i]) chain.Add($".Then(context => context.Saga.{step.Name}Skipped = false)");
        chain.Add($".Send(context => {Build(step.Send, step.With, "context")})");
        if (step.Timeout is not null)
            chain.Add($".Schedule({step.Name}Timeout, context => new {Timeout(step)}(context.Saga.CorrelationId))");
        chain.Add($".TransitionTo({step.State.Name})");
    }

    /// <summary>Every step done or skipped: the saga ends completed, its timeout cancelled.</summary>
    void Complete(List<string> chain)
    {
        if (saga.Timeout is not null) chain.Add(".Unschedule(SagaTimeout)");
        chain.Add(".Then(context => OnCompleted(context.Saga))");
        chain.Add($".TransitionTo({saga.CompletedState.Name})");
    }

    /// <summary>
    /// <c>.IfElse(context => test, yes => yes..., no => no...)</c>, or <c>.If(...)</c> without
    /// <paramref name="whenFalse"/>; each branch's activities are written by its callback. The
    /// binders' names are numbered, as nested lambdas may not reuse them.
    /// </summary>
    void Branch(List<string> chain, string test, string yes, System.Action<List<string>> whenTrue, string? no = null, System.Action<List<string>>? whenFalse = null)
    {
        var n = ++branches;
        chain.Add($".{(whenFalse is null ? "If" : "IfElse")}(context => {test},");
        void Arm(string name, System.Action<List<string>> write, string end)
        {
            var arm = new List<string>();
            write(arm);
            chain.Add($"    {name}{n} => {name}{n}");
            for (var l = 0; l < arm.Count; l++)
                chain.Add("        " + arm[l] + (l + 1 < arm.Count ? "" : end));
        }
        Arm(yes, whenTrue, whenFalse is null ? ")" : ",");
        if (whenFalse is not null) Arm(no!, whenFalse, ")");
    }

    /// <summary><c>new Command(field: value, ...)</c> from saga data and the declared <c>with</c>.</summary>
    string Build(NameRef command, EquatableArray<FieldAssignment> with, string context)
    {
        var message = index.FindMessage(command.Name);
        if (message is null) return "null!";
        var scope = SagaScope(context);
        var arguments = new List<string>();
        foreach (var field in message.Fields)
        {
            FieldAssignment? assigned = null;
            foreach (var assignment in with)
                if (assignment.Target == field.Name) assigned = assignment;
            FieldDefinition? source = null;
            if (assigned is null) data.TryGetValue(field.Name, out source);
            else if (assigned.Value.Kind == ValueKind.Field) data.TryGetValue(assigned.Value.Path[0], out source);
            // Data kept from a reply is optional until the reply arrives; the command needs the value:
            // it is read (and converted) as optional, then defaulted.
            var fillsRequired = source is not null && source.Type.IsOptional && !field.IsOptional;
            var target = fillsRequired ? field.Ref with { IsOptional = true } : field.Ref;
            var value = assigned is not null ? Expressions.Of(assigned.Value, target, scope, message.Namespace, index)
                : source is not null ? Expressions.Convert(scope.Field(field.Name), source.Type, target, message.Namespace, index)
                : "default!";
            if (fillsRequired) value = $"({value} ?? default!)";
            arguments.Add($"{Names.Pascal(field.Name)}: {value}");
        }
        return $"new {Names.Global(message.Namespace, message.Name)}({string.Join(", ", arguments)})";
    }

    // A reply's fields; an aggregate's event as a reply carries the aggregate's id as the stream id
    // header the relay set. No $meta: the checks refuse it in a saga (PLT0617).
    ExpressionScope ReplyScope(MessageShape reply) => new(
        Expressions.EventFields("context.Message", reply, index, "context.Headers.Get<string>(global::Platform.Messaging.PlatformHeaders.StreamId)", mayBeNull: true),
        _ => "default", Expressions.EventTypes(reply, index));

    /// <summary><c>.Then(...)</c> copying <paramref name="keeps"/> from <paramref name="message"/> into saga data, if any.</summary>
    void Keep(List<string> chain, EquatableArray<FieldAssignment> keeps, MessageShape message)
    {
        if (keeps.Count == 0) return;
        chain.Add(".Then(context =>");
        chain.Add("{");
        var scope = ReplyScope(message);
        foreach (var keep in keeps)
            chain.Add($"    context.Saga.{Names.Pascal(keep.Target)} = {Kept(keep, scope)};");
        chain.Add("})");
    }

    /// <summary>A reply's value for a saga data field, converted to the field's type.</summary>
    string Kept(FieldAssignment keep, ExpressionScope scope) =>
        Expressions.Of(keep.Value, data.TryGetValue(keep.Target, out var field) ? field.Type : null, scope, saga.Namespace, index);

    void EmitStep(CodeWriter w, int i)
    {
        var step = saga.Steps[i];
        var chains = new List<List<string>>();
        foreach (var success in step.OnSuccess)
        {
            var message = index.FindMessage(success.Name);
            if (message is null) continue;
            var chain = new List<string> { $"When({message.Name})" };
            if (step.Timeout is not null) chain.Add($".Unschedule({step.Name}Timeout)");
            Keep(chain, step.Keep, message);
            Reschedule(chain, step.Keep, null);
            StartStep(chain, i + 1);
            chains.Add(chain);
        }
        foreach (var failure in step.OnFailure)
        {
            var message = index.FindMessage(failure.Name);
            if (message is null) continue;
            var chain = new List<string> { $"When({message.Name})" };
            if (step.Timeout is not null) chain.Add($".Unschedule({step.Name}Timeout)");
            chain.Add($".Then(context => context.Saga.FailureReason = {CSharpLiteral.String(message.Name)})");
            Compensate(chain, i - 1);
            chains.Add(chain);
        }
        if (step.Timeout is not null)
        {
            var chain = new List<string> { $"When({step.Name}Timeout.Received)" };
            chain.Add($".Then(context => context.Saga.FailureReason = {CSharpLiteral.String(step.Name + " timed out")})");
            Compensate(chain, i - 1);
            chains.Add(chain);
        }
        if (saga.Timeout is not null)
        {
            var chain = new List<string> { "When(SagaTimeout.Received)" };
            if (step.Timeout is not null) chain.Add($".Unschedule({step.Name}Timeout)");
            chain.Add($".Then(context => context.Saga.FailureReason = {CSharpLiteral.String(saga.Name + " timed out")})");
            Compensate(chain, i - 1, sagaTimeoutFired: true);
            chains.Add(chain);
        }
        foreach (var handler in saga.Handlers)
        {
            if (!SagaStates.AppliesTo(handler, step.State.Name)) continue;
            var message = index.FindMessage(handler.Event.Name);
            if (message is null) continue;
            var chain = new List<string>();
            // Before the outcome: a step it starts or a compensation it sends may use the data.
            Keep(chain, handler.Keep, message);
            // A deadline it moves: the step's while the saga stays in it, the saga's while it goes on.
            if (handler.Outcome == SagaOutcome.Ignore || handler.TargetState?.Name == step.State.Name)
                Reschedule(chain, handler.Keep, step);
            else if (handler is { Outcome: SagaOutcome.TransitionTo, TargetState: { } onTo } && !IsFinal(onTo.Name))
                Reschedule(chain, handler.Keep, null);
            switch (handler.Outcome)
            {
                case SagaOutcome.Compensate:
                    if (step.Timeout is not null) chain.Add($".Unschedule({step.Name}Timeout)");
                    chain.Add($".Then(context => context.Saga.FailureReason = {CSharpLiteral.String(message.Name)})");
                    Compensate(chain, i - 1);
                    break;
                case SagaOutcome.Complete:
                    if (step.Timeout is not null) chain.Add($".Unschedule({step.Name}Timeout)");
                    if (saga.Timeout is not null) chain.Add(".Unschedule(SagaTimeout)");
                    chain.Add(".Then(context => OnCompleted(context.Saga))");
                    chain.Add($".TransitionTo({saga.CompletedState.Name})");
                    break;
                case SagaOutcome.TransitionTo when handler.TargetState is not null:
                    // Leaving the step: its timeout no longer applies (it would arrive in a state
                    // that does not take it); moving to a final state ends the saga's too.
                    if (step.Timeout is not null && handler.TargetState.Name != step.State.Name) chain.Add($".Unschedule({step.Name}Timeout)");
                    if (saga.Timeout is not null && IsFinal(handler.TargetState.Name)) chain.Add(".Unschedule(SagaTimeout)");
                    // Into another step's waiting state: that step starts, as when the one before it
                    // succeeds. Moved there alone, the saga waited for a reply to a command never
                    // sent, until the step's timeout compensated it.
                    var target = SagaStates.StepWaitingIn(saga, handler.TargetState.Name);
                    if (target >= 0 && target != i)
                    {
                        // Forward, this step and those up to the target are skipped: none of them
                        // succeeded, so a compensation from there does not undo them.
                        for (var j = i; j < target; j++)
                            chain.Add($".Then(context => context.Saga.{saga.Steps[j].Name}Skipped = true)");
                        StartStep(chain, target);
                        break;
                    }
                    // Into the completed state by name: the same end as 'then: complete', its hook included.
                    if (handler.TargetState.Name == saga.CompletedState.Name) chain.Add(".Then(context => OnCompleted(context.Saga))");
                    chain.Add($".TransitionTo({handler.TargetState.Name})");
                    break;
                default:
                    chain.Add(".Then(_ => { })");
                    break;
            }
            var when = new List<string> { $"When({message.Name})" };
            if (handler.Where.IsEmpty)
            {
                when.AddRange(chain);
            }
            else
            {
                // An event that fails a condition is consumed and changes nothing.
                var scope = ReplyScope(message);
                var tests = new List<string>();
                foreach (var condition in handler.Where)
                    tests.Add(Conditions.Of(condition, scope.Field(condition.Subject), scope.TypeOf(condition.Subject), scope, saga.Namespace, index));
                Branch(when, string.Join(" && ", tests), "applies", applies => applies.AddRange(chain));
            }
            chains.Add(when);
        }
        WriteBlock(w, $"During({step.State.Name},", chains);
    }

    /// <summary>
    /// A <c>keep:</c> that writes the deadline a timeout waits for schedules that timeout again, at
    /// the new instant: <paramref name="step"/>'s (when the saga stays in it) and the saga's.
    /// </summary>
    void Reschedule(List<string> chain, EquatableArray<FieldAssignment> keeps, SagaStep? step)
    {
        bool Moves(Duration? timeout) => timeout?.Deadline is { } field && keeps.Any(keep => keep.Target == field);
        if (step is not null && Moves(step.Timeout))
        {
            chain.Add($".Unschedule({step.Name}Timeout)");
            chain.Add($".Schedule({step.Name}Timeout, context => new {Timeout(step)}(context.Saga.CorrelationId))");
        }
        if (Moves(saga.Timeout))
        {
            chain.Add(".Unschedule(SagaTimeout)");
            chain.Add($".Schedule(SagaTimeout, context => new {saga.Name}Timeout(context.Saga.CorrelationId))");
        }
    }

    bool IsFinal(string state) =>
        state == saga.CompletedState.Name || state == saga.CompensatedState.Name || state == saga.CompensationFailedState.Name;

    /// <summary>
    /// Compensates from step <paramref name="from"/> down: sends the compensations that wait for no
    /// reply on the way, then the nearest that waits (scheduling its timeout), or ends compensated.
    /// A step that may have been skipped is compensated only when it ran.
    /// </summary>
    void Compensate(List<string> chain, int from, bool sagaTimeoutFired = false)
    {
        // The saga's timeout bounds going forward; compensations have their own. Left scheduled, it
        // would arrive in a compensating state that does not handle it.
        if (saga.Timeout is not null && !sagaTimeoutFired) chain.Add(".Unschedule(SagaTimeout)");
        CompensateFrom(chain, from);
    }

    void CompensateFrom(List<string> chain, int from)
    {
        var target = SagaPlan.CompensationTarget(saga, from + 1);
        if (target < 0)
        {
            chain.Add(".Then(context => OnCompensated(context.Saga))");
            chain.Add($".TransitionTo({saga.CompensatedState.Name})");
            return;
        }
        var step = saga.Steps[target];
        var compensation = step.Compensation!;
        void Send(List<string> activities) =>
            activities.Add($".Send(context => {Build(compensation.Command, compensation.With, "context")})");
        if (!compensation.Waits)
        {
            // Sent, and on at once to the step before.
            void SendIt(List<string> activities)
            {
                Send(activities);
                activities.Add($".Then(context => context.Saga.{step.Name}Compensation = \"sent\")");
            }
            if (skippable[target]) Branch(chain, $"!context.Saga.{step.Name}Skipped", "ran", SendIt);
            else SendIt(chain);
            CompensateFrom(chain, target - 1);
            return;
        }
        void Wait(List<string> activities)
        {
            Send(activities);
            if (HasCompensationTimeout(step))
                activities.Add($".Schedule({step.Name}CompensationTimeout, context => new {CompensationTimeout(step)}(context.Saga.CorrelationId))");
            activities.Add($".TransitionTo({CompensatingState(step)})");
        }
        if (skippable[target]) Branch(chain, $"context.Saga.{step.Name}Skipped", "skipped", skipped => CompensateFrom(skipped, target - 1), "ran", Wait);
        else Wait(chain);
    }

    /// <summary>
    /// A step that was given up on (its timeout, the saga's timeout, a cancel) may still succeed: its
    /// command was sent. Its success reply then arrives after the saga left the step, while earlier
    /// steps are compensated or once the saga ended compensated, and without a handler the charge
    /// (say) would stay taken. In those states the late success keeps its data and sends the
    /// step's compensation, once (the step's compensation outcome is still empty), and the
    /// compensation's own reply is recorded there; a failed one raises the alert.
    /// </summary>
    void EmitLateReplies(CodeWriter w, int i)
    {
        var step = saga.Steps[i];
        var compensation = step.Compensation!;
        var states = new List<string>();
        for (var j = 0; j < i; j++)
            if (saga.Steps[j].Compensation is { Waits: true }) states.Add(CompensatingState(saga.Steps[j]));
        states.Add(saga.CompensatedState.Name);
        states.Add(saga.CompensationFailedState.Name);
        var chains = new List<List<string>>();
        foreach (var success in step.OnSuccess)
        {
            var message = index.FindMessage(success.Name);
            if (message is null) continue;
            var chain = new List<string> { $"When({message.Name})" };
            chain.Add($".If(context => context.Saga.{step.Name}Compensation == null, late => late");
            chain.Add("    .Then(context =>");
            chain.Add("    {");
            var scope = ReplyScope(message);
            foreach (var keep in step.Keep)
                chain.Add($"        context.Saga.{Names.Pascal(keep.Target)} = {Kept(keep, scope)};");
            chain.Add($"        context.Saga.{step.Name}Compensation = {CSharpLiteral.String("sent after a late " + message.Name)};");
            chain.Add("    })");
            chain.Add($"    .Send(context => {Build(compensation.Command, compensation.With, "context")}))");
            chains.Add(chain);
        }
        foreach (var reply in compensation.OnSuccess)
        {
            var message = index.FindMessage(reply.Name);
            if (message is null) continue;
            chains.Add([$"When({message.Name})", $".Then(context => context.Saga.{step.Name}Compensation = {CSharpLiteral.String(message.Name)})"]);
        }
        foreach (var reply in compensation.OnFailure)
        {
            var message = index.FindMessage(reply.Name);
            if (message is null) continue;
            chains.Add([
                $"When({message.Name})",
                $".Then(context => context.Saga.{step.Name}Compensation = {CSharpLiteral.String(message.Name)})",
                $".Publish(context => new {saga.Name}CompensationFailed(context.Saga.CorrelationId, {CSharpLiteral.String(step.Name)}, {CSharpLiteral.String(message.Name)}))",
                $".Then(context => OnCompensationFailed(context.Saga, {CSharpLiteral.String(step.Name)}))",
            ]);
        }
        WriteBlock(w, $"During({string.Join(", ", states)},", chains);
    }

    void EmitCompensationStep(CodeWriter w, int i)
    {
        var step = saga.Steps[i];
        var compensation = step.Compensation!;
        var chains = new List<List<string>>();
        foreach (var success in compensation.OnSuccess)
        {
            var message = index.FindMessage(success.Name);
            if (message is null) continue;
            var chain = new List<string> { $"When({message.Name})" };
            if (HasCompensationTimeout(step)) chain.Add($".Unschedule({step.Name}CompensationTimeout)");
            chain.Add($".Then(context => context.Saga.{step.Name}Compensation = {CSharpLiteral.String(message.Name)})");
            Compensate(chain, i - 1);
            chains.Add(chain);
        }
        foreach (var failure in compensation.OnFailure)
        {
            var message = index.FindMessage(failure.Name);
            if (message is null) continue;
            var chain = new List<string> { $"When({message.Name})" };
            if (HasCompensationTimeout(step)) chain.Add($".Unschedule({step.Name}CompensationTimeout)");
            chain.Add($".Then(context => context.Saga.{step.Name}Compensation = {CSharpLiteral.String(message.Name)})");
            Fail(chain, step, message.Name);
            chains.Add(chain);
        }
        if (HasCompensationTimeout(step))
        {
            // No reply in time: a failed compensation like any other, for an operator (a late reply is still recorded).
            var chain = new List<string> { $"When({step.Name}CompensationTimeout.Received)" };
            chain.Add($".Then(context => context.Saga.{step.Name}Compensation = \"timed out\")");
            Fail(chain, step, step.Name + " compensation timed out");
            chains.Add(chain);
        }
        WriteBlock(w, $"During({CompensatingState(step)},", chains);
    }

    /// <summary>A failed compensation: the alert, the hook, and the failed state, where the saga waits for an operator.</summary>
    void Fail(List<string> chain, SagaStep step, string reason)
    {
        if (saga.Timeout is not null) chain.Add(".Unschedule(SagaTimeout)");
        chain.Add($".Publish(context => new {saga.Name}CompensationFailed(context.Saga.CorrelationId, {CSharpLiteral.String(step.Name)}, {CSharpLiteral.String(reason)}))");
        chain.Add($".Then(context => OnCompensationFailed(context.Saga, {CSharpLiteral.String(step.Name)}))");
        chain.Add($".TransitionTo({saga.CompensationFailedState.Name})");
    }
}
