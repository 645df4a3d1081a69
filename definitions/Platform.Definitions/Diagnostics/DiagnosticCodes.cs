namespace Platform.Definitions.Diagnostics;

/// <summary>
/// Every diagnostic the definitions language reports. Codes are stable: tests, docs and users'
/// suppressions refer to them, so a code is never reused for a different problem.
/// PLT01xx YAML and file structure, PLT02xx names, PLT03xx types, PLT04xx events and versions,
/// PLT05xx projections, PLT06xx sagas, PLT07xx reactions, PLT08xx compatibility lock.
/// </summary>
public static class DiagnosticCodes
{
    private static DiagnosticDescriptor Error(string code, string title, string message) => new(code, DiagnosticSeverity.Error, title, message);

    private static DiagnosticDescriptor Warning(string code, string title, string message) => new(code, DiagnosticSeverity.Warning, title, message);

    // PLT01xx: YAML and file structure
    public static readonly DiagnosticDescriptor YamlSyntax = Error("PLT0101", "Invalid YAML",
        "The YAML is not well formed: {0}. Fix the syntax at this position.");
    public static readonly DiagnosticDescriptor DuplicateKey = Error("PLT0102", "Duplicate key",
        "The key '{0}' appears twice in this mapping (first at line {1}). Remove or rename one of them.");
    public static readonly DiagnosticDescriptor AliasNotAllowed = Error("PLT0103", "Anchors and aliases are not allowed",
        "Anchors and aliases ('{0}') are not allowed in definitions. Write the value out in full.");
    public static readonly DiagnosticDescriptor NestingTooDeep = Error("PLT0104", "Nesting too deep",
        "The YAML is nested more than {0} levels deep. Definitions never need this; flatten the structure.");
    public static readonly DiagnosticDescriptor FileTooLarge = Error("PLT0105", "File too large",
        "The file is {0} characters long; the limit is {1}. Split it into several definition files.");
    public static readonly DiagnosticDescriptor InvalidEncoding = Error("PLT0106", "Invalid UTF-8",
        "The file contains bytes that are not valid UTF-8. Save the file as UTF-8.");
    public static readonly DiagnosticDescriptor EmptyFile = Error("PLT0107", "Empty definition file",
        "The file contains no definition. Add a root key such as 'aggregate:', 'contracts:', 'projection:', 'saga:' or 'reactions:', or delete the file.");
    public static readonly DiagnosticDescriptor UnknownFileKind = Error("PLT0108", "Not a definition file",
        "The file has none of the root keys 'aggregate', 'contracts', 'projection', 'saga' or 'reactions'. Add exactly one of them.");
    public static readonly DiagnosticDescriptor AmbiguousFileKind = Error("PLT0109", "More than one definition in a file",
        "The file has both '{0}' and '{1}' as root keys. Put each definition in its own file.");
    public static readonly DiagnosticDescriptor UnknownKey = Error("PLT0110", "Unknown key",
        "'{0}' is not a key of {1}. Allowed keys: {2}.");
    public static readonly DiagnosticDescriptor WrongNodeKind = Error("PLT0111", "Wrong kind of value",
        "{0} must be {1}, not {2}.");
    public static readonly DiagnosticDescriptor MissingKey = Error("PLT0112", "Missing key",
        "{0} needs the key '{1}'. Add it.");
    public static readonly DiagnosticDescriptor InvalidValue = Error("PLT0113", "Invalid value",
        "'{0}' is not a valid {1}. Use {2}.");
    public static readonly DiagnosticDescriptor TabIndentation = Error("PLT0114", "Tab in indentation",
        "YAML does not allow tabs for indentation. Indent with spaces.");
    public static readonly DiagnosticDescriptor InvalidExpression = Error("PLT0115", "Invalid expression",
        "'{0}' is not a valid expression: {1}. Use a literal, '$field', '$meta.NAME', 'count($list)' or 'sum($list.member)'.");
    public static readonly DiagnosticDescriptor MultipleDocuments = Error("PLT0116", "More than one YAML document",
        "The file contains more than one YAML document ('---'). Put each definition in its own file.");
    public static readonly DiagnosticDescriptor TagNotAllowed = Error("PLT0117", "Tags are not allowed",
        "The tag '{0}' is not allowed in definitions; values get their meaning from where they are. Remove it.");

    // PLT02xx: names and identifiers
    public static readonly DiagnosticDescriptor InvalidIdentifier = Error("PLT0201", "Not a valid identifier",
        "'{0}' is not a valid name: use letters, digits and '_', starting with a letter (e.g. '{1}').");
    public static readonly DiagnosticDescriptor KeywordIdentifier = Error("PLT0202", "Name is a C# keyword",
        "'{0}' becomes the C# keyword '{1}'. Choose another name.");
    public static readonly DiagnosticDescriptor DuplicateName = Error("PLT0203", "Duplicate name",
        "{0} '{1}' is already declared at {2}. Names of definitions, types, commands, events and reactions are shared by all files; rename one of them.");
    public static readonly DiagnosticDescriptor CasingCollision = Error("PLT0204", "Names collide after casing",
        "'{0}' and '{1}' both become '{2}' in C#. Rename one of them.");
    public static readonly DiagnosticDescriptor UnknownReference = Error("PLT0205", "Unknown reference",
        "{0} '{1}' is not declared in any definition file.{2}");
    public static readonly DiagnosticDescriptor InvalidNamespace = Error("PLT0206", "Invalid namespace",
        "'{0}' is not a valid C# namespace. Use dot-separated identifiers such as 'Shop.Orders'.");
    public static readonly DiagnosticDescriptor InvalidTypeName = Error("PLT0207", "Invalid event type name",
        "'{0}' is not a valid event type name. Use letters, digits, '.', '-' and '_' only (e.g. 'shop.orders.order-placed').");
    public static readonly DiagnosticDescriptor ReservedName = Error("PLT0208", "Reserved name",
        "'{0}' is reserved by the generated code ({1}). Choose another name.");

    // PLT03xx: types
    public static readonly DiagnosticDescriptor UnknownType = Error("PLT0301", "Unknown type",
        "The type '{0}' is not a built-in type (string, int, long, decimal, double, bool, guid, timestamp, date) and is not declared under 'types:' in any file.{1}");
    public static readonly DiagnosticDescriptor InvalidTypeSyntax = Error("PLT0302", "Invalid type",
        "'{0}' is not a valid type: {1}. Write e.g. 'string', 'decimal?', 'list<OrderItem>' or 'map<string, int>'.");
    public static readonly DiagnosticDescriptor InvalidMapKey = Error("PLT0303", "Invalid map key type",
        "'{0}' cannot be a map key. Use string, int, long, guid or an enum.");
    public static readonly DiagnosticDescriptor RecursiveType = Error("PLT0304", "Recursive value type",
        "The value type '{0}' contains itself through {1}. Break the cycle with an id reference.");
    public static readonly DiagnosticDescriptor InvalidEnum = Error("PLT0305", "Invalid enum",
        "{0}. An enum needs at least one member and each member once.");
    public static readonly DiagnosticDescriptor LiteralTypeMismatch = Error("PLT0306", "Value does not fit the type",
        "'{0}' cannot be assigned to '{1}' of type {2}. {3}");
    public static readonly DiagnosticDescriptor TypeChangedWithoutConversion = Error("PLT0307", "Type changed without conversion",
        "The field '{0}' changes from {1} in version {2} to {3} in version {4} without a conversion. Add '{0}: {{ compute: ... }}' to the upcast of version {2} or keep the type.");
    public static readonly DiagnosticDescriptor ConstraintNotChecked = Warning("PLT0310", "Constraint never checked",
        "{0} on {1} '{2}' is never checked: constraints are validated on a command's fields and on the value types a command holds, before anything is stored. Declare it on the command that carries the value, or drop it here.");
    public static readonly DiagnosticDescriptor ConstraintNotApplicable = Error("PLT0308", "Constraint does not apply to the type",
        "'{0}' does not apply to a field of type {1}. {2}");
    public static readonly DiagnosticDescriptor OperationTypeMismatch = Error("PLT0309", "Operation does not fit the type",
        "'{0}' cannot be applied to '{1}' of type {2}. {3}");
    public static readonly DiagnosticDescriptor PersonalNotErased = Error("PLT0311", "Personal data is not erased here",
        "'personal' on {0} '{1}' is never erased: an erasure overwrites the personal fields of a stream's stored events and of the sagas they started, and deletes its snapshot, nothing else. {2}");
    public static readonly DiagnosticDescriptor PersonalNotErasable = Error("PLT0312", "Personal field has no erased value",
        "The personal field '{0}' of type {1} has no value to be erased to: optional fields become null, text empty text, lists and maps empty. Make it optional ({1}?).");

    // PLT04xx: events, versions, upcasts, commands
    public static readonly DiagnosticDescriptor VersionGap = Error("PLT0401", "Version gap",
        "Event '{0}' has no version {1}, but has versions before and after it. Declare every version from 1 to the current one.");
    public static readonly DiagnosticDescriptor DuplicateVersion = Error("PLT0402", "Duplicate version",
        "Event '{0}' declares version {1} more than once. Remove one of them.");
    public static readonly DiagnosticDescriptor PreviousNotOlder = Error("PLT0403", "Previous version not older",
        "Version {0} of '{1}' is listed under 'previous' but is not older than the current version {2}. Raise 'version' or remove the entry.");
    public static readonly DiagnosticDescriptor NoUpcastPath = Error("PLT0404", "No upcast path",
        "Version {0} of '{1}' cannot become version {2}: {3}. Add 'upcast:' or 'upcaster:' to version {0}.");
    public static readonly DiagnosticDescriptor UpcastUnknownField = Error("PLT0405", "Upcast uses a missing field",
        "The upcast of '{0}' v{1} uses '{2}', which {3}. Use a field the version has.");
    public static readonly DiagnosticDescriptor ApplyUnknownStateField = Error("PLT0406", "Apply targets a missing state field",
        "'{0}' is not a state field of aggregate '{1}'. Add it under 'state:' or fix the name.");
    public static readonly DiagnosticDescriptor UnknownMessageField = Error("PLT0407", "Field not in message",
        "'{0}' is not a field of {1}. Available: {2}.");
    public static readonly DiagnosticDescriptor EmittedFieldUnfilled = Error("PLT0408", "Event field cannot be filled",
        "Command '{0}' emits '{1}', but nothing fills its required field '{2}'. Add a command field of that name or '{2}: ...' under the emitted event.");
    public static readonly DiagnosticDescriptor NoCreatingCommand = Error("PLT0409", "No command creates the aggregate",
        "Aggregate '{0}' has no command with 'creates: true', so no instance can ever exist. Mark the command that starts its life.");
    public static readonly DiagnosticDescriptor DuplicateTypeName = Error("PLT0410", "Duplicate event type name",
        "The event type name '{0}' is also used by '{1}'. Every event needs its own stable 'type:'.");
    public static readonly DiagnosticDescriptor EventNeverEmitted = Warning("PLT0411", "Event never emitted",
        "No command of aggregate '{0}' emits '{1}'. Emit it from a command or move it to a contracts file.");
    public static readonly DiagnosticDescriptor ApplyOnNonDomainEvent = Error("PLT0412", "Apply on a non-domain event",
        "'{0}' is an event of kind {1}; only domain events change aggregate state. Remove 'apply:' or make it 'kind: domain'.");
    public static readonly DiagnosticDescriptor MetadataBeforeStored = Error("PLT0415", "Event metadata before an event is stored",
        "'{0}' is not available in {1}: {2}, so the generated code would read an empty value. Carry the value in a field of the command, or read it in the event's 'apply:', where the stored event's metadata is.");
    public static readonly DiagnosticDescriptor InvalidIdType = Error("PLT0414", "Invalid aggregate id type",
        "'{0}' cannot identify an aggregate. Use guid, string or long.");
    public static readonly DiagnosticDescriptor UpcastAndUpcaster = Error("PLT0413", "Both upcast and upcaster",
        "Version {0} of '{1}' has both 'upcast:' and 'upcaster:'. Keep one of them.");

    // PLT05xx: projections
    public static readonly DiagnosticDescriptor ProjectionUnknownField = Error("PLT0501", "Projection sets a missing field",
        "'{0}' is not a field of read model '{1}'. Add it under 'fields:' or fix the name.");
    public static readonly DiagnosticDescriptor ProjectionKeyMissing = Error("PLT0502", "Handler has no key",
        "The handler of '{0}' in multi-stream projection '{1}' needs 'key: $field' naming the event field that selects the row.");
    public static readonly DiagnosticDescriptor ProjectionForeignEvent = Error("PLT0503", "Event of another aggregate",
        "'{0}' is not an event of aggregate '{1}', which this single-stream projection follows. Remove 'aggregate:' to make it multi-stream, or handle only that aggregate's events.");
    public static readonly DiagnosticDescriptor ProjectionNoInsert = Warning("PLT0504", "No handler creates rows",
        "No handler of read model '{0}' inserts or upserts, so it stays empty. Use 'action: insert' or 'upsert' for the first event.");
    public static readonly DiagnosticDescriptor ProjectionKeyTypeMismatch = Error("PLT0505", "Key type mismatch",
        "The key '{0}' of the handler of '{1}' is {2}, but the read model key '{3}' is {4}. Use a field of the same type.");
    public static readonly DiagnosticDescriptor ProjectionCompositeKeySingleStream = Error("PLT0506", "Composite key on a single-stream projection",
        "Projection '{0}' follows aggregate '{1}', whose id is its key; a key of several fields needs a multi-stream projection. Remove 'aggregate:' or keep one key field.");
    public static readonly DiagnosticDescriptor ProjectionKeySet = Error("PLT0508", "Handler sets the key",
        "The handler of '{0}' sets '{1}', a key field of read model '{2}'. A row's key is what 'key:' selects it by and cannot change; remove it from 'set:'.");
    public static readonly DiagnosticDescriptor ProjectionKeyCount = Error("PLT0507", "Key values do not match the key",
        "The handler of '{0}' gives {1} key value(s), but read model '{2}' is keyed by {3}. Give one value per key field, in that order: key: [{4}].");

    // PLT06xx: sagas
    public static readonly DiagnosticDescriptor SagaUnreachableState = Error("PLT0601", "Unreachable saga state",
        "Saga '{0}' can never enter state '{1}'. Use it in a step or an 'on:' handler, or remove it.");
    public static readonly DiagnosticDescriptor SagaUnhandledEvent = Warning("PLT0602", "Event without a handler in a state",
        "'{0}' can arrive while saga '{1}' is in state '{2}', but no handler covers that state. Add '{2}' to 'in:' or handle it with 'then: ignore'.");
    public static readonly DiagnosticDescriptor SagaStepWithoutCompensation = Warning("PLT0603", "Step without compensation",
        "Step '{0}' of saga '{1}' has no compensation, so a later failure leaves its effect in place. Add 'compensate:' or say 'compensation: none'.");
    public static readonly DiagnosticDescriptor SagaTimeoutNeverCancelled = Error("PLT0604", "Timeout never cancelled",
        "The timeout of {0} in saga '{1}' is never cancelled because {2}. Declare reply events in 'onSuccess:'.");
    public static readonly DiagnosticDescriptor SagaNoFinalState = Error("PLT0605", "No reachable final state",
        "From state '{0}' saga '{1}' can never reach a final state. Add a transition that completes or compensates.");
    public static readonly DiagnosticDescriptor SagaMissingCorrelation = Error("PLT0606", "Message lacks the correlation field",
        "'{0}' has no field '{1}', which saga '{2}' correlates by. Add the field to the message.");
    public static readonly DiagnosticDescriptor InvalidDuration = Error("PLT0607", "Invalid duration",
        "'{0}' is not a valid duration. Write a positive number followed by s, m, h or d (e.g. '30s', '15m').");
    public static readonly DiagnosticDescriptor SagaCompensationAndNone = Error("PLT0608", "Compensation and 'compensation: none'",
        "Step '{0}' has both 'compensate:' and 'compensation: none'. Keep one of them.");
    public static readonly DiagnosticDescriptor SagaNoSteps = Error("PLT0609", "Saga without steps",
        "Saga '{0}' has no steps. Add at least one under 'steps:'.");

    public static readonly DiagnosticDescriptor SagaCommandFieldUnfilled = Error("PLT0610", "Command field cannot be filled",
        "{0} of saga '{1}' sends '{2}', but nothing fills its required field '{3}'. Add '{3}: ...' under 'with:' or a saga data field of that name.");
    public static readonly DiagnosticDescriptor SagaDataUnfilled = Warning("PLT0611", "Saga data never filled",
        "The saga data field '{0}' of '{1}' is neither in the start event '{2}' nor kept from a reply, so it is always empty. Keep it from a reply with 'keep:' or make it come from the start event.");
    public static readonly DiagnosticDescriptor SagaAmbiguousReply = Error("PLT0612", "Reply is both success and failure",
        "'{0}' is listed in both 'onSuccess' and 'onFailure' of {1}, so the saga cannot tell which happened. Keep it in one of them.");
    public static readonly DiagnosticDescriptor SagaStepWaitsForever = Warning("PLT0613", "Step can wait forever",
        "Step '{0}' of saga '{1}' waits for its reply without a timeout, and the saga has none: an instance whose reply never comes (a lost message, a service that never answers) waits forever. Give the step or the saga a 'timeout:'.");
    public static readonly DiagnosticDescriptor SagaStateNotHandled = Error("PLT0615", "State the generated machine takes no event in",
        "State '{0}' of saga '{1}' is not the waiting state of a step: the generated state machine takes events only in those (and in its compensating states), so {2}. Name a step's state, or use 'then: compensate' or 'then: complete'.");
    public static readonly DiagnosticDescriptor SagaHandlerSkipsOutcome = Error("PLT0616", "Handler ends the saga without its outcome",
        "'then: {0}' ends saga '{1}' in {0} {2}. Use 'then: compensate': it undoes the completed steps in reverse order and ends in {0}, or in the failure state with the alert when a compensation fails.");
    public static readonly DiagnosticDescriptor SagaMetadataUnavailable = Error("PLT0617", "Event metadata in a saga",
        "'{0}' is not available in saga '{1}': the saga handles messages, not the store's event envelopes, so there is no {2} to read. Carry the value in a field of the message and use that field.");
    public static readonly DiagnosticDescriptor SagaCorrelationTypeMismatch = Error("PLT0618", "Correlation key of another type",
        "'{0}' carries '{1}' as {2}, but saga '{3}' is keyed by {4}: the message would never find its saga. Give '{1}' the same type in every message the saga takes.");
    public static readonly DiagnosticDescriptor SagaConditionReadsUnkeptData = Warning("PLT0619", "Step condition reads data not yet kept",
        "The 'when:' of step '{0}' in saga '{1}' reads '{2}', which only step '{3}' keeps: when step '{0}' starts it is still empty, so the condition always sees it absent. Keep it in an earlier step or take it from the start event.");
    public static readonly DiagnosticDescriptor SagaStartEventReused = Error("PLT0620", "Start event used again",
        "'{0}' is a start event of saga '{1}', whose machine ignores its start events once the saga runs: {2}.");
    public static readonly DiagnosticDescriptor SagaDataEmptyAfterSomeStarts = Warning("PLT0621", "Saga data empty after one of its starts",
        "The required saga data field '{0}' of '{1}' is not in the start event '{2}' and no reply keeps it: a saga that '{2}' starts has it empty for good. Make it optional ({3}?), or add it to '{2}'.");
    public static readonly DiagnosticDescriptor DeadlineNotTaken = Error("PLT0622", "Deadline where a duration is needed",
        "'{0}' is a deadline (the instant a field holds), which a saga's or a step's 'timeout:' and a reaction's 'at:' take; the {1} takes a duration such as '10m'.");
    public static readonly DiagnosticDescriptor InvalidDeadline = Error("PLT0625", "Invalid deadline",
        "'{0}' is not a deadline. Write '$field' for the instant the field holds, or '$field + 30m' / '$field - 1h' for an instant that long after or before it.");
    public static readonly DiagnosticDescriptor SagaDeadlineNotTimestamp = Error("PLT0623", "Deadline is not a timestamp of the saga's data",
        "The deadline '{0}' of {1} in saga '{2}' {3}. Name a saga data field of type timestamp (not optional): the timeout fires at the instant it holds.");
    public static readonly DiagnosticDescriptor SagaDeadlineUnfilled = Error("PLT0624", "Deadline empty when its timeout is scheduled",
        "The deadline '{0}' of {1} in saga '{2}' is empty when the timeout is scheduled: {3}, and an empty timestamp lies in the past, so the timeout would fire at once. Take it from {4}.");
    public static readonly DiagnosticDescriptor SagaCompensationWaitsForever = Warning("PLT0614", "Compensation can wait forever",
        "The compensation of step '{0}' in saga '{1}' waits for its reply without a timeout: if the reply never comes, the saga stays in {2} and no alert is raised. Add 'timeout:' under 'compensate:'; when it passes, the compensation counts as failed.");

    // PLT07xx: reactions
    public static readonly DiagnosticDescriptor ReactionCycle = Error("PLT0701", "Reaction cycle",
        "Reactions form a cycle: {0}. Break it, or the events feed each other forever.");
    public static readonly DiagnosticDescriptor ReactionFieldUnfilled = Error("PLT0702", "Command field cannot be filled",
        "Reaction '{0}' sends '{1}', but nothing fills its required field '{2}'. Add '{2}: ...' under 'with:' or a field of that name to '{3}'.");
    public static readonly DiagnosticDescriptor ReactionUnlessWithoutDelay = Error("PLT0704", "'unless' without 'after'",
        "Reaction '{0}' sends its command as soon as '{1}' is handled, so 'unless:' has nothing to cancel. Add 'after:' (e.g. 'after: 30m') or 'at:' (e.g. 'at: $dueAt'), or drop 'unless:'.");
    public static readonly DiagnosticDescriptor ReactionUnlessOtherStream = Error("PLT0705", "'unless' event of another stream",
        "'{0}' cannot cancel reaction '{1}': {2}. A delayed command is cancelled by an event of the same aggregate as '{3}', found by its stream id.");
    public static readonly DiagnosticDescriptor ReactionAfterAndAt = Error("PLT0706", "Both 'after' and 'at'",
        "Reaction '{0}' has both 'after:' and 'at:'. Keep one of them: 'after:' waits a fixed time after the event, 'at:' until the instant a field of it holds.");
    public static readonly DiagnosticDescriptor ReactionTimeNotTimestamp = Error("PLT0707", "Reaction time is not a timestamp of its event",
        "The time '{0}' of reaction '{1}' {2}. Name a timestamp field of '{3}' (not optional): the command is sent at the instant it holds.");
    public static readonly DiagnosticDescriptor ReactionMetadataUnavailable = Error("PLT0703", "Event metadata a reaction cannot read",
        "'{0}' is not available in reaction '{1}': {2}. Carry the value in a field of the event and use that field.");

    // PLT08xx: compatibility lock
    public static readonly DiagnosticDescriptor LockedVersionEdited = Error("PLT0801", "Published version edited",
        "Version {0} of '{1}' was published with fingerprint {2} and has been edited in place. Restore it and add version {3} instead.");
    public static readonly DiagnosticDescriptor LockedVersionDeleted = Error("PLT0802", "Published version deleted",
        "Version {0} of event type '{1}' is in the lock file but no longer declared. Stored events of that version could not be read; restore it.");
    public static readonly DiagnosticDescriptor VersionNotLocked = Warning("PLT0803", "Version not locked",
        "Version {0} of '{1}' is not in the lock file yet. Run 'platform lock <dir>' to publish it.");
    public static readonly DiagnosticDescriptor IncompatibleChange = Error("PLT0804", "Incompatible change",
        "Version {0} of '{1}' is not {2}-compatible with version {3}: {4}.");
    public static readonly DiagnosticDescriptor InvalidLockFile = Error("PLT0805", "Invalid lock file",
        "The lock file cannot be read: {0}. Restore it from version control or run 'platform lock <dir>'.");
    public static readonly DiagnosticDescriptor LockedSagaRemoved = Error("PLT0806", "Locked saga removed",
        "Saga '{0}' is in the lock file but no longer declared: its stored instances that have not finished would never run again. Keep it until 'platform sagas list --saga {0}' shows none of them running, then run 'platform lock <dir>'.");
    public static readonly DiagnosticDescriptor LockedSagaStateRemoved = Error("PLT0807", "Saga state removed",
        "State '{0}' of saga '{1}' is in the lock file but no longer declared: instances stored in it would never move again. Keep it until 'platform sagas list --saga {1} --state {0}' shows none of them, then run 'platform lock <dir>'.");
    public static readonly DiagnosticDescriptor SagaDataIncompatible = Error("PLT0808", "Saga data incompatible",
        "Saga '{0}' could not load the instances stored before this change: {1}.");
    public static readonly DiagnosticDescriptor SagaStepNoLongerSkippable = Error("PLT0810", "Skippable step made unconditional",
        "Step '{0}' of saga '{1}' could be skipped in the locked build, and this one always runs it: a stored instance that skipped it would have it compensated as if it ran (a refund for a charge never made). Keep it skippable until 'platform sagas list --saga {1}' shows no running instance that skipped it, then run 'platform lock <dir> --accept-saga-changes'.");
    public static readonly DiagnosticDescriptor SagaNotLocked = Warning("PLT0809", "Saga not locked",
        "Saga '{0}' is not in the lock file as declared ({1}). Run 'platform lock <dir>' to record it.");
}
