using NJsonSchema;

namespace Platform.Definitions.Schema;

public static partial class PlatformSchema
{
    /// <summary>Shared definitions (under <c>definitions</c>) and the five file kinds built from them.</summary>
    private sealed class Library
    {
        private readonly JsonSchema _root;
        private readonly JsonSchema _name;
        private readonly JsonSchema _names;
        private readonly JsonSchema _value;
        private readonly JsonSchema _duration;
        private readonly JsonSchema _timeout;
        private readonly JsonSchema _fields;
        private readonly JsonSchema _types;
        private readonly JsonSchema _assignments;
        private readonly JsonSchema _updates;
        private readonly JsonSchema _conditions;
        private readonly JsonSchema _identity;

        public Library(JsonSchema root)
        {
            _root = root;
            _name = Define("name", new JsonSchema { Type = JsonObjectType.String, Pattern = "^[A-Za-z_][A-Za-z0-9_]*$", Description = "A name that becomes a C# identifier." });
            _names = Define("names", new JsonSchema { Description = "One name or a list of names." });
            _names.OneOf.Add(Ref(_name));
            _names.OneOf.Add(new JsonSchema { Type = JsonObjectType.Array, Item = Ref(_name) });
            _value = Define("value", new JsonSchema
            {
                Type = JsonObjectType.String | JsonObjectType.Number | JsonObjectType.Integer | JsonObjectType.Boolean | JsonObjectType.Null,
                Description = "A literal, '$field', '$meta.timestamp' (eventId, aggregateId, version, correlationId, causationId, userId, traceId), 'count($list)' or 'sum($list.member * $list.member)'. '$$' starts a literal dollar. '$meta.aggregateId' is the stream id: it fits a string, or the aggregate's own id type. '$a.b.c' reads members of value types; read from an optional field, or through one that is unset at any depth, the value is absent: an optional target stays unset, a required one takes its type's empty value (empty text, 0, an empty list or map, an enum's first member; an optional value type is refused there), a projection key selects no row, and count() and sum() of an unset list are 0.",
            });
            _duration = Define("duration", new JsonSchema { Type = JsonObjectType.String, Pattern = "^[1-9][0-9]*(ms|s|m|h|d)$", Description = "e.g. 30s, 15m, 2h, 1d" });
            _timeout = Define("timeout", new JsonSchema { Description = "A duration (30s, 15m, 2h, 1d), or a deadline: '$field', a timestamp of the saga's data, read when the timeout is scheduled (a keep: that changes it schedules the timeout again); '$field - 1h' or '$field + 30m' for an instant that long before or after it." });
            _timeout.OneOf.Add(Ref(_duration));
            _timeout.OneOf.Add(new JsonSchema { Type = JsonObjectType.String, Pattern = "^\\$[A-Za-z_][A-Za-z0-9_]*( *[+-] *[1-9][0-9]*(ms|s|m|h|d))?$" });

            var typeText = Define("typeText", new JsonSchema
            {
                Type = JsonObjectType.String,
                Pattern = "^\\s*[A-Za-z_][A-Za-z0-9_.<>, ?]*$",
                Description = "string, int, long, decimal, double, bool, guid, timestamp, date, a declared type, list<T>, map<K, V>; '?' makes it optional.",
            });
            var fieldObject = ClosedObject("A field with constraints, or an inline enum.");
            fieldObject.Properties["type"] = RefProperty(typeText);
            fieldObject.Properties["enum"] = new JsonSchemaProperty { Type = JsonObjectType.Array, Item = Ref(_name), MinItems = 1 };
            fieldObject.Properties["optional"] = new JsonSchemaProperty { Type = JsonObjectType.Boolean };
            fieldObject.Properties["min"] = new JsonSchemaProperty { Type = JsonObjectType.Number };
            fieldObject.Properties["max"] = new JsonSchemaProperty { Type = JsonObjectType.Number };
            fieldObject.Properties["maxLength"] = new JsonSchemaProperty { Type = JsonObjectType.Integer, Minimum = 1 };
            fieldObject.Properties["nonEmpty"] = new JsonSchemaProperty { Type = JsonObjectType.Boolean };
            fieldObject.Properties["personal"] = new JsonSchemaProperty
            {
                Type = JsonObjectType.Boolean,
                Description = "Personal data (an event's field, in any version, or a saga's data field; saga data copied from a personal field is personal too): 'platform stream erase' overwrites it in the stream's stored events and in the sagas they started, with null when optional, else empty text, an empty list or an empty map.",
            };
            fieldObject.Properties["pattern"] = StringProperty("A .NET regular expression the whole text must match (a command's field: validated like min, max, maxLength and nonEmpty), e.g. \"[A-Z]{3}-[0-9]+\".");
            fieldObject.Properties["description"] = StringProperty("Documentation carried into generated code as an escaped literal.");
            var field = Define("field", new JsonSchema());
            field.OneOf.Add(Ref(typeText));
            field.OneOf.Add(fieldObject);
            _fields = Define("fields", MapOf(field, "Field names to types."));

            var enumType = ClosedObject("An enum type.", "enum");
            enumType.Properties["enum"] = new JsonSchemaProperty { Type = JsonObjectType.Array, Item = Ref(_name), MinItems = 1 };
            var typeDefinition = new JsonSchema();
            typeDefinition.OneOf.Add(enumType);
            typeDefinition.OneOf.Add(MapOf(field, "A value type's fields.", "^(?!enum$)[A-Za-z_][A-Za-z0-9_]*$"));
            _types = Define("types", MapOf(Define("typeDefinition", typeDefinition), "Value types and enums usable from every file."));

            _assignments = Define("assignments", MapOf(_value, "Target field to value."));

            var updateObject = ClosedObject("A list or counter operation.");
            foreach (var key in new[] { "set", "add", "remove", "increment", "decrement" }) updateObject.Properties[key] = RefProperty(_value);
            updateObject.Properties["by"] = RefProperty(_name, "With remove: the element member compared with the value.");
            var update = Define("update", new JsonSchema());
            update.OneOf.Add(Ref(_value));
            update.OneOf.Add(updateObject);
            _updates = Define("updates", MapOf(update, "Field to new value or operation."));

            var conditionObject = ClosedObject("Comparison operators.");
            foreach (var key in new[] { "eq", "ne", "gt", "ge", "lt", "le" }) conditionObject.Properties[key] = RefProperty(_value);
            foreach (var key in new[] { "in", "notIn" }) conditionObject.Properties[key] = new JsonSchemaProperty { Type = JsonObjectType.Array, Item = Ref(_value) };
            conditionObject.Properties["nonEmpty"] = new JsonSchemaProperty { Type = JsonObjectType.Boolean };
            var condition = Define("condition", new JsonSchema());
            condition.OneOf.Add(Ref(_value));
            condition.OneOf.Add(new JsonSchema { Type = JsonObjectType.Array, Item = Ref(_value) });
            condition.OneOf.Add(conditionObject);
            _conditions = Define("conditions", MapOf(condition, "Field to required value, list of values, or operators."));

            _identity = Define("identity", ClosedObject("A name and type, e.g. { name: orderId, type: guid }.", "name", "type"));
            _identity.Properties["name"] = RefProperty(_name);
            _identity.Properties["type"] = RefProperty(typeText);
        }

        public JsonSchema AggregateFile()
        {
            var command = ClosedObject("A command of the aggregate.");
            command.Properties["creates"] = new JsonSchemaProperty { Type = JsonObjectType.Boolean, Description = "This command starts a new aggregate." };
            command.Properties["fields"] = RefProperty(_fields);
            command.Properties["when"] = RefProperty(_conditions, "Guards on state.");
            command.Properties["require"] = RefProperty(_conditions, "Conditions on the command's fields.");
            var emits = Define("emits", new JsonSchema { Description = "Events emitted; a mapping fills event fields explicitly." });
            emits.OneOf.Add(Ref(_names));
            emits.OneOf.Add(MapOf(_assignments, "Event name to field assignments."));
            command.Properties["emits"] = RefProperty(emits, "The events the command emits when no branch of 'instead' holds.");
            var branch = ClosedObject("Events emitted instead of the command's when every condition holds.", "emits");
            branch.Properties["when"] = RefProperty(_conditions, "Conditions on state, as the command's 'when'.");
            branch.Properties["where"] = RefProperty(_conditions, "Conditions on the command's fields.");
            branch.Properties["emits"] = RefProperty(emits, "The events emitted instead.");
            command.Properties["instead"] = new JsonSchemaProperty
            {
                Type = JsonObjectType.Array,
                Item = Ref(Define("emitBranch", branch)),
                Description = "Branches tried in order after the guards; the first whose conditions hold emits its events instead of 'emits'.",
            };
            command.Properties["description"] = StringProperty("Documentation.");

            var file = ClosedObject("An aggregate: identity, state, commands and the events that change it.", "aggregate", "namespace", "id");
            file.Properties["aggregate"] = RefProperty(_name);
            file.Properties["namespace"] = Namespace();
            file.Properties["id"] = RefProperty(_identity);
            var snapshot = ClosedObject("Snapshot policy.", "every");
            snapshot.Properties["every"] = new JsonSchemaProperty { Type = JsonObjectType.Integer, Minimum = 1, Description = "Take a snapshot every this many events of a stream." };
            snapshot.Properties["revision"] = new JsonSchemaProperty
            {
                Type = JsonObjectType.Integer, Minimum = 1,
                Description = "Raise it after a change the snapshot fingerprint cannot see (an OnApplied hook, a hand-written upcaster's body): older snapshots are then ignored. Default 1.",
            };
            file.Properties["snapshot"] = new JsonSchemaProperty { Reference = Define("snapshot", snapshot) };
            file.Properties["types"] = RefProperty(_types);
            file.Properties["state"] = RefProperty(_fields);
            file.Properties["commands"] = RefProperty(Define("aggregateCommands", MapOf(Define("aggregateCommand", command), "Commands.")));
            file.Properties["events"] = RefProperty(Events());
            return Define("aggregateFile", file);
        }

        public JsonSchema ContractsFile()
        {
            var command = ClosedObject("A command another service handles.");
            command.Properties["fields"] = RefProperty(_fields);
            command.Properties["description"] = StringProperty("Documentation.");
            var file = ClosedObject("Messages and types without an aggregate: another team's commands and integration events.", "contracts", "namespace");
            file.Properties["contracts"] = RefProperty(_name);
            file.Properties["namespace"] = Namespace();
            file.Properties["types"] = RefProperty(_types);
            file.Properties["commands"] = RefProperty(Define("contractCommands", MapOf(Define("contractCommand", command), "Commands.")));
            file.Properties["events"] = RefProperty(Events());
            return Define("contractsFile", file);
        }

        public JsonSchema ProjectionFile()
        {
            var handler = ClosedObject("How one event changes the read model.");
            handler.Properties["action"] = new JsonSchemaProperty { Reference = Define("projectionAction", StringEnum("Row operation.", "insert", "update", "upsert", "delete")) };
            var handlerKey = new JsonSchemaProperty { Description = "The event value that selects the row (multi-stream projections); a list of values, one per field, for a composite key." };
            handlerKey.OneOf.Add(Ref(_value));
            handlerKey.OneOf.Add(new JsonSchema { Type = JsonObjectType.Array, Item = Ref(_value), MinItems = 1 });
            handler.Properties["key"] = handlerKey;
            handler.Properties["where"] = RefProperty(_conditions, "Conditions on the event's fields; an event that fails one changes nothing.");
            handler.Properties["set"] = RefProperty(_updates);
            var file = ClosedObject("A read model fed by events.", "projection", "namespace", "key");
            file.Properties["projection"] = RefProperty(_name);
            file.Properties["namespace"] = Namespace();
            file.Properties["aggregate"] = RefProperty(_name, "Single-stream: the aggregate whose stream feeds it. Omit for multi-stream.");
            var projectionKey = new JsonSchemaProperty { Description = "The row's key field, or a list of fields for a composite key (multi-stream projections only)." };
            projectionKey.OneOf.Add(Ref(_identity));
            projectionKey.OneOf.Add(new JsonSchema { Type = JsonObjectType.Array, Item = Ref(_identity), MinItems = 1 });
            file.Properties["key"] = projectionKey;
            file.Properties["revision"] = new JsonSchemaProperty
            {
                Type = JsonObjectType.Integer, Minimum = 1,
                Description = "Raise it after a change the definition fingerprint cannot see (an OnApplied hook, a hand-written upcaster's body): the runtime then rebuilds the table as for a changed declaration. Default 1.",
            };
            file.Properties["fields"] = RefProperty(_fields);
            file.Properties["on"] = new JsonSchemaProperty { Reference = Define("projectionHandlers", MapOf(Define("projectionHandler", handler), "Event name to handler.")) };
            return Define("projectionFile", file);
        }

        public JsonSchema SagaFile()
        {
            var compensation = ClosedObject("The compensating command and its replies.", "send");
            compensation.Properties["send"] = RefProperty(_name);
            compensation.Properties["with"] = RefProperty(_assignments);
            compensation.Properties["onSuccess"] = RefProperty(_names);
            compensation.Properties["onFailure"] = RefProperty(_names);
            compensation.Properties["timeout"] = RefProperty(_duration, "How long to wait for a reply; then the compensation counts as failed (alert, compensationFailed).");
            var compensate = new JsonSchemaProperty();
            compensate.OneOf.Add(Ref(_name));
            compensate.OneOf.Add(compensation);

            var step = ClosedObject("One step: send a command, wait in a state for a reply.", "name", "send");
            step.Properties["name"] = RefProperty(_name);
            step.Properties["state"] = RefProperty(_name, "The state while waiting; default Awaiting<Name>.");
            step.Properties["when"] = RefProperty(_conditions, "Conditions on the saga's data: the step runs only when they hold; otherwise it is skipped (nothing sent, nothing to compensate) and the next step starts.");
            step.Properties["send"] = RefProperty(_name);
            step.Properties["with"] = RefProperty(_assignments, "Command fields from saga data; unassigned fields take the data field of the same name.");
            step.Properties["onSuccess"] = RefProperty(_names);
            step.Properties["onFailure"] = RefProperty(_names);
            step.Properties["keep"] = RefProperty(_assignments, "Saga data fields from the success reply.");
            step.Properties["timeout"] = RefProperty(_timeout);
            step.Properties["compensate"] = compensate;
            step.Properties["compensation"] = new JsonSchemaProperty { Reference = Define("compensationNone", StringEnum("Say there is nothing to undo.", "none")) };

            var handler = ClosedObject("An extra event handler.", "then");
            handler.Properties["in"] = RefProperty(_names, "The steps' waiting states where it applies; all of them when omitted.");
            handler.Properties["keep"] = RefProperty(_assignments, "Saga data fields from the event, kept before 'then' (e.g. { cancelReason: $reason }).");
            handler.Properties["where"] = RefProperty(_conditions, "Conditions on the event's fields: an event that fails one changes nothing (it is consumed).");
            handler.Properties["then"] = RefProperty(_name, "compensate, complete, ignore, or the waiting state of a step (or the completed state, as complete) to move to. Into another step's state, that step starts: its command is sent and its timeout scheduled; the steps jumped over (the one left included) count as skipped, and a compensation from there undoes only the steps that ran.");

            var file = ClosedObject("An orchestrated saga.", "saga", "namespace", "correlateBy", "startedBy", "steps");
            file.Properties["saga"] = RefProperty(_name);
            file.Properties["namespace"] = Namespace();
            file.Properties["correlateBy"] = RefProperty(_name);
            file.Properties["startedBy"] = RefProperty(_names, "The event that starts the saga, or several: whichever arrives first starts it, and the others are ignored once it runs.");
            file.Properties["where"] = RefProperty(_conditions, "Conditions on the start event's fields: an event that fails one starts no saga.");
            file.Properties["data"] = RefProperty(_fields);
            file.Properties["timeout"] = RefProperty(_timeout);
            file.Properties["states"] = new JsonSchemaProperty { Type = JsonObjectType.Array, Item = Ref(_name) };
            file.Properties["completed"] = RefProperty(_name);
            file.Properties["compensated"] = RefProperty(_name);
            file.Properties["compensationFailed"] = RefProperty(_name);
            file.Properties["steps"] = new JsonSchemaProperty { Type = JsonObjectType.Array, Item = new JsonSchema { Reference = Define("sagaStep", step) }, MinItems = 1 };
            file.Properties["on"] = new JsonSchemaProperty { Reference = Define("sagaHandlers", MapOf(Define("sagaHandler", handler), "Event name to handler.")) };
            file.Properties["onUnexpected"] = new JsonSchemaProperty { Reference = Define("unexpectedEventPolicy", StringEnum("What the saga does with an event its current state does not handle (always logged): ignore it, or fail the message so it is retried and dead-lettered.", "ignore", "deadLetter")) };
            return Define("sagaFile", file);
        }

        public JsonSchema ReactionsFile()
        {
            var reaction = ClosedObject("When an event happens, send a command.", "when", "send");
            reaction.Properties["when"] = RefProperty(_name);
            reaction.Properties["where"] = RefProperty(_conditions);
            reaction.Properties["send"] = RefProperty(_name);
            reaction.Properties["with"] = RefProperty(_assignments);
            reaction.Properties["after"] = RefProperty(_duration, "Send the command this long after the event is handled (a durable scheduled message), e.g. 30m to expire what is still unpaid.");
            reaction.Properties["at"] = new JsonSchemaProperty { Type = JsonObjectType.String, Pattern = "^\\$[A-Za-z_][A-Za-z0-9_]*( *[+-] *[1-9][0-9]*(ms|s|m|h|d))?$", Description = "Send the command at the instant a timestamp field of the event holds (a durable scheduled message), e.g. $holdUntil, or that long before or after it: '$startsAt - 1d'; one already passed is sent at once. Not with 'after:'." };
            reaction.Properties["unless"] = RefProperty(_names, "With 'after': events of the same aggregate that cancel the delayed command when handled before it is due (e.g. [OrderPaid]).");
            var file = ClosedObject("Choreography.", "reactions", "namespace");
            file.Properties["reactions"] = new JsonSchemaProperty { Reference = Define("reactions", MapOf(Define("reaction", reaction), "Reaction name to reaction.")) };
            file.Properties["namespace"] = Namespace();
            return Define("reactionsFile", file);
        }

        private JsonSchema Events()
        {
            if (_root.Definitions.TryGetValue("events", out var existing)) return existing;
            var upcastObject = new JsonSchema { Type = JsonObjectType.Object, AllowAdditionalProperties = false, MinProperties = 1, MaxProperties = 1 };
            upcastObject.Properties["default"] = RefProperty(_value);
            upcastObject.Properties["rename"] = RefProperty(_name);
            upcastObject.Properties["compute"] = RefProperty(_value);
            var upcastStep = new JsonSchema();
            upcastStep.OneOf.Add(StringEnum("Drop the old field.", "remove"));
            upcastStep.OneOf.Add(upcastObject);

            var version = ClosedObject("An earlier version and how it becomes the next one.", "version");
            version.Properties["version"] = new JsonSchemaProperty { Type = JsonObjectType.Integer, Minimum = 1 };
            version.Properties["fields"] = RefProperty(_fields);
            version.Properties["upcast"] = new JsonSchemaProperty { Reference = Define("upcast", MapOf(Define("upcastStep", upcastStep), "Field of the next version to how it is produced.")) };
            version.Properties["upcaster"] = RefProperty(_name, "Instead of 'upcast': the name of a partial method that upcasts by hand.");

            var definition = ClosedObject("An event with its versions.");
            definition.Properties["kind"] = new JsonSchemaProperty { Reference = Define("eventKind", StringEnum("Domain events are stored; integration events are contracts; notifications are fire-and-forget.", "domain", "integration", "notification")) };
            definition.Properties["type"] = StringProperty("Stable wire and store name, independent of the C# name.", "^[A-Za-z0-9._-]+$");
            definition.Properties["version"] = new JsonSchemaProperty { Type = JsonObjectType.Integer, Minimum = 1 };
            definition.Properties["compatibility"] = new JsonSchemaProperty { Reference = Define("compatibility", StringEnum("Confluent Schema Registry modes.", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FULL", "NONE")) };
            definition.Properties["fields"] = RefProperty(_fields);
            definition.Properties["apply"] = RefProperty(_updates, "Effect on aggregate state.");
            definition.Properties["previous"] = new JsonSchemaProperty { Type = JsonObjectType.Array, Item = new JsonSchema { Reference = Define("eventVersion", version) } };
            definition.Properties["description"] = StringProperty("Documentation.");
            return Define("events", MapOf(Define("event", definition), "Events."));
        }

        private static JsonSchemaProperty Namespace() =>
            StringProperty("The C# namespace of generated code.", "^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$");

        private JsonSchema Define(string name, JsonSchema schema)
        {
            _root.Definitions[name] = schema;
            return schema;
        }
    }
}
