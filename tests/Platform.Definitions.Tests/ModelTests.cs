using Platform.Definitions.Checks;
using Platform.Definitions.Model;
using Xunit;

namespace Platform.Definitions.Tests;

/// <summary>Each construct of the language, read from the Orders example or a small snippet, lands in the model.</summary>
public sealed class ModelTests
{
    private static DefinitionSet Orders { get; } = CheckedOrders();

    private static DefinitionSet CheckedOrders()
    {
        var result = DefinitionSet.Check(Corpus.Orders);
        Assert.Empty(result.Diagnostics);
        return result.Value!;
    }

    private static AggregateDefinition Order => Orders.FindAggregate("Order")!;

    [Fact]
    public void aggregate_has_identity_snapshot_policy_and_typed_state()
    {
        Assert.Equal(("orderId", PrimitiveType.Guid), (Order.Id.Name, Order.Id.Type.Primitive));
        Assert.Equal(50, Order.SnapshotEvery);
        Assert.Equal(1, Order.SnapshotRevision);
        Assert.Equal(1, Orders.Projections.Single(p => p.Name == "OrderSummary").Revision);
        var status = Order.State.Single(f => f.Name == "status").Type;
        Assert.Equal((TypeKind.Named, "OrderStatus"), (status.Kind, status.Name));
        Assert.Equal(new[] { "Placed", "Confirmed", "Shipped", "Cancelled" }, Orders.FindEnum("OrderStatus")!.Members.Select(m => m.Name));
        Assert.True(Order.State.Single(f => f.Name == "trackingNumber").Type.IsOptional);
        Assert.Equal(TypeKind.List, Order.State.Single(f => f.Name == "items").Type.Kind);
    }

    [Fact]
    public void commands_create_guard_validate_and_emit_with_computed_fields()
    {
        var place = Order.Commands.Single(c => c.Name == "PlaceOrder");
        Assert.True(place.Creates);
        var customer = place.Fields.Single(f => f.Name == "customerId");
        Assert.Equal(new FieldConstraints(null, null, 64, true), customer.Constraints);
        var emit = Assert.Single(place.Emits);
        var total = Assert.Single(emit.Assignments);
        Assert.Equal(("totalAmount", ValueKind.Sum), (total.Target, total.Value.Kind));
        Assert.Equal(new[] { "items", "price" }, total.Value.Path);
        Assert.Equal(new[] { "items", "quantity" }, total.Value.Factor);

        var confirm = Order.Commands.Single(c => c.Name == "ConfirmOrder");
        Assert.False(confirm.Creates);
        var guard = Assert.Single(confirm.When);
        Assert.Equal(("status", ConditionOperator.In, "Placed"), (guard.Subject, guard.Operator, guard.Operands.Single().Text));
        Assert.Equal(ConditionOperator.NotIn, Order.Commands.Single(c => c.Name == "CancelOrder").When.Single().Operator);
    }

    [Fact]
    public void events_apply_literals_fields_metadata_and_increments()
    {
        var placed = Order.Events.Single(e => e.Name == "OrderPlaced");
        Assert.Equal((EventKind.Domain, CompatibilityMode.BackwardTransitive, "Order"), (placed.Kind, placed.Compatibility, placed.Aggregate));
        var apply = placed.Apply.ToDictionary(u => u.Target);
        Assert.Equal((UpdateOperation.Set, ValueKind.Literal, "Placed"), (apply["status"].Operation, apply["status"].Value.Kind, apply["status"].Value.Text));
        Assert.Equal(ValueKind.Field, apply["customerId"].Value.Kind);
        Assert.Equal(MetadataField.Timestamp, apply["placedAt"].Value.Metadata);
        Assert.Equal((UpdateOperation.Increment, "1"), (apply["changeCount"].Operation, apply["changeCount"].Value.Text));
        Assert.Equal("Shop.Payments.PaymentCharged", Orders.FindEvent("PaymentCharged")!.Namespace + ".PaymentCharged");
        Assert.Equal((EventKind.Integration, CompatibilityMode.Backward), (Orders.FindEvent("PaymentCharged")!.Kind, Orders.FindEvent("PaymentCharged")!.Compatibility));
    }

    [Fact]
    public void upcasts_rename_remove_compute_default_or_name_a_hand_written_upcaster()
    {
        const string yaml = """
            contracts: Evolving
            namespace: Shop.Evolving
            events:
              Moved:
                kind: notification
                type: shop.evolving.moved
                version: 4
                fields: { customerId: string, cents: long, note: string? }
                previous:
                  - version: 1
                    fields: { customer: string, amount: decimal, legacy: bool }
                    upcast:
                      customerId: { rename: customer }
                      legacy: remove
                      cents: { compute: $amount }
                  - version: 2
                    fields: { customerId: string, cents: long }
                    upcaster: UpcastMovedV2
                  - version: 3
                    fields: { customerId: string, cents: long }
            """;
        var loaded = Platform.Definitions.Loading.DefinitionLoader.Load("evolving.yaml", yaml);
        Assert.Empty(loaded.Diagnostics);
        var checkedSet = DefinitionSet.Check(new[] { loaded.Value! });
        Assert.Equal(new[] { "PLT0306" }, checkedSet.Diagnostics.Select(d => d.Code));
        var moved = loaded.Value!.Events.Single();
        Assert.Equal(EventKind.Notification, moved.Kind);
        var v1 = moved.Previous[0];
        Assert.Contains(v1.Upcast, s => s is { Field: "customerId", Operation: UpcastOperation.Rename, From: "customer" });
        Assert.Contains(v1.Upcast, s => s is { Field: "legacy", Operation: UpcastOperation.Remove });
        Assert.Contains(v1.Upcast, s => s is { Field: "cents", Operation: UpcastOperation.Compute });
        Assert.Equal("UpcastMovedV2", moved.Previous[1].Upcaster);
    }

    [Fact]
    public void personal_fields_are_personal_in_every_version_that_has_them_by_name_or_by_rename()
    {
        var loaded = Platform.Definitions.Loading.DefinitionLoader.Load("members.yaml", """
            aggregate: Member
            namespace: Shop.Members
            id: { name: memberId, type: guid }
            state: { joined: bool }
            commands:
              Join: { creates: true, fields: { email: string, nick: string, phones: list<string> }, emits: Joined }
              Leave: { fields: { reason: string }, emits: Left }
            events:
              Joined:
                type: shop.members.joined
                version: 3
                fields:
                  email: { type: string, personal: true }
                  nick: string
                  phones: { type: list<string>, personal: true }
                apply: { joined: true }
                previous:
                  - version: 1
                    fields: { mail: string, nick: string, phones: list<string> }
                    upcast: { email: { rename: mail } }
                  - version: 2
                    fields: { email: string, nick: { type: string, personal: true }, phones: list<string> }
              Left: { type: shop.members.left, fields: { reason: string } }
            """);
        Assert.Empty(loaded.Diagnostics);
        Assert.Empty(DefinitionSet.Check(new[] { loaded.Value! }).Diagnostics);
        var joined = PersonalData.ByVersion(loaded.Value!.Events.Single(e => e.Name == "Joined"));
        // nick is marked only in version 2, and stays personal in every version that stores it.
        Assert.Equal(new[] { "1: mail nick phones", "2: email nick phones", "3: email nick phones" },
            joined.Select(v => $"{v.Key}: {string.Join(" ", v.Value.Select(f => f.Name))}"));
        Assert.Equal(("\"\"", "[]"), (PersonalData.ErasedJson(joined[3][0].Type), PersonalData.ErasedJson(joined[3][2].Type)));
        Assert.Empty(PersonalData.ByVersion(loaded.Value!.Events.Single(e => e.Name == "Left")));
    }

    [Fact]
    public void saga_data_copied_from_a_personal_field_of_its_start_event_is_personal()
    {
        // OrderFulfilment copies the placing's shippingAddress by name, and keeps its other data from replies that have none.
        var fulfilment = Orders.Sagas.Single(s => s.Name == "OrderFulfilment");
        Assert.Equal(new[] { "shippingAddress" },
            PersonalData.SagaFields(fulfilment, name => PersonalData.CurrentNames(Orders.FindEvent(name))).Select(f => f.Name));
        // A reply kept from a personal field makes the kept field personal too.
        Assert.Equal(new[] { "shippingAddress", "paymentId" },
            PersonalData.SagaFields(fulfilment, name => name == "PaymentCharged" ? new HashSet<string> { "paymentId" } : PersonalData.CurrentNames(Orders.FindEvent(name)))
                .Select(f => f.Name).OrderByDescending(n => n == "shippingAddress"));
    }

    [Fact]
    public void meta_aggregate_id_fits_a_string_or_the_aggregates_own_id_type()
    {
        // A string-keyed aggregate: its stream id read as a guid (a projection column, a list, a
        // reaction's command field, its own state) failed only when the row or message was written.
        var aggregate = Platform.Definitions.Loading.DefinitionLoader.Load("desk.yaml", """
            aggregate: Desk
            namespace: Shop.Desks
            id: { name: deskCode, type: string }
            state: { code: string?, self: guid? }
            commands:
              OpenDesk: { creates: true, emits: DeskOpened }
            events:
              DeskOpened:
                type: shop.desks.opened
                apply: { code: $meta.aggregateId, self: $meta.aggregateId }
            """);
        var projection = Platform.Definitions.Loading.DefinitionLoader.Load("desk-board.yaml", """
            projection: DeskBoard
            namespace: Shop.Desks
            key: { name: board, type: string }
            fields: { codes: list<string>, ids: list<guid>, last: guid, lastCode: string }
            on:
              DeskOpened:
                action: upsert
                key: main
                set:
                  codes: { add: $meta.aggregateId }
                  ids: { add: $meta.aggregateId }
                  last: $meta.aggregateId
                  lastCode: $meta.aggregateId
            """);
        var reaction = Platform.Definitions.Loading.DefinitionLoader.Load("audit.yaml", """
            namespace: Shop.Desks
            reactions:
              AuditOpenedDesk:
                when: DeskOpened
                send: AuditDesk
                with: { auditId: $meta.aggregateId }
            """);
        var audits = Platform.Definitions.Loading.DefinitionLoader.Load("audits.yaml", """
            contracts: Audits
            namespace: Shop.Desks
            commands:
              AuditDesk:
                fields: { auditId: guid }
            """);
        Assert.Empty(aggregate.Diagnostics.Concat(projection.Diagnostics).Concat(reaction.Diagnostics).Concat(audits.Diagnostics));
        var checkedSet = DefinitionSet.Check([aggregate.Value!, projection.Value!, reaction.Value!, audits.Value!]);

        Assert.All(checkedSet.Diagnostics, d => Assert.Equal("PLT0306", d.Code));
        Assert.Equal(["audit.yaml(6,22)", "desk-board.yaml(11,19)", "desk-board.yaml(12,13)", "desk.yaml(10,45)"],
            checkedSet.Diagnostics.Select(d => d.Span.ToString()).Order(StringComparer.Ordinal));
        Assert.Contains(checkedSet.Diagnostics, d => d.Code == "PLT0306" && d.Message.Contains("the aggregate's id (string) as text", StringComparison.Ordinal));
    }

    // Copies by name take an absent optional value as its type's empty value; a value type has none,
    // so an optional one copied into a required field is refused as an assignment of it is: into a
    // reaction's command, from the start event into saga data, and from saga data into a step's command.
    [Fact]
    public void an_optional_value_type_copied_by_name_into_a_required_field_is_refused()
    {
        var contracts = Platform.Definitions.Loading.DefinitionLoader.Load("post.yaml", """
            contracts: Post
            namespace: Shop.Post
            types:
              Address: { city: string }
            commands:
              Deliver: { fields: { parcelId: guid, address: Address } }
              Label: { fields: { parcelId: guid, address: Address, to: Address } }
            events:
              Posted: { type: shop.post.posted, fields: { parcelId: guid, address: Address?, to: Address? } }
              Delivered: { type: shop.post.delivered, fields: { parcelId: guid } }
            """);
        var reactions = Platform.Definitions.Loading.DefinitionLoader.Load("reactions.yaml", """
            namespace: Shop.Post
            reactions:
              DeliverPosted: { when: Posted, send: Deliver }
            """);
        var saga = Platform.Definitions.Loading.DefinitionLoader.Load("delivery.yaml", """
            saga: Delivery
            namespace: Shop.Post
            correlateBy: parcelId
            startedBy: Posted
            timeout: 1h
            data: { parcelId: guid, address: Address?, to: Address }
            steps:
              - name: Label
                send: Label
                onSuccess: Delivered
                compensation: none
            """);
        Assert.Empty(contracts.Diagnostics.Concat(reactions.Diagnostics).Concat(saga.Diagnostics));
        var checkedSet = DefinitionSet.Check([contracts.Value!, reactions.Value!, saga.Value!]);

        Assert.All(checkedSet.Diagnostics, d => Assert.Equal("PLT0306", d.Code));
        Assert.Equal(["delivery.yaml(6,44)", "delivery.yaml(9,11)", "reactions.yaml(3,3)"],
            checkedSet.Diagnostics.Select(d => d.Span.ToString()).Order(StringComparer.Ordinal));
        Assert.All(checkedSet.Diagnostics, d => Assert.Contains("an absent Address has no default", d.Message, StringComparison.Ordinal));
    }

    // A branch's events count as the command's: a reaction fed by one of them loops, and an event
    // only a branch emits is emitted.
    [Fact]
    public void the_events_of_an_instead_branch_are_the_commands()
    {
        var aggregate = Platform.Definitions.Loading.DefinitionLoader.Load("tank.yaml", """
            aggregate: Tank
            namespace: Shop.Tanks
            id: { name: tankId, type: guid }
            state: { level: int }
            commands:
              FillTank:
                creates: true
                fields: { litres: int }
                emits: TankFilled
                instead:
                  - where: { litres: { gt: 10 } }
                    emits: TankOverflowed
            events:
              TankFilled: { type: shop.tanks.filled, fields: { litres: int }, apply: { level: $litres } }
              TankOverflowed: { type: shop.tanks.overflowed, fields: { litres: int } }
            """);
        var reaction = Platform.Definitions.Loading.DefinitionLoader.Load("refill.yaml", """
            namespace: Shop.Tanks
            reactions:
              RefillOnOverflow:
                when: TankOverflowed
                send: FillTank
            """);
        Assert.Empty(aggregate.Diagnostics.Concat(reaction.Diagnostics));
        var diagnostics = DefinitionSet.Check([aggregate.Value!, reaction.Value!]).Diagnostics;
        Assert.Equal(["PLT0701 refill.yaml(3,3)"], diagnostics.Select(d => $"{d.Code} {d.Span}"));
    }

    [Fact]
    public void single_stream_and_multi_stream_projections()
    {
        var summary = Orders.Projections.Single(p => p.Name == "OrderSummary");
        Assert.Equal("Order", summary.Aggregate!.Name);
        var placed = summary.Handlers.Single(h => h.Event == "OrderPlaced");
        Assert.Equal((ProjectionAction.Insert, MetadataField.AggregateId), (placed.Action, placed.Key.Metadata));
        Assert.Equal(ValueKind.Count, placed.Set.Single(s => s.Target == "itemCount").Value.Kind);
        Assert.Equal(ProjectionAction.Update, summary.Handlers.Single(h => h.Event == "OrderShipped").Action);

        var perCustomer = Orders.Projections.Single(p => p.Name == "CustomerOrders");
        Assert.Null(perCustomer.Aggregate);
        var handler = Assert.Single(perCustomer.Handlers);
        Assert.Equal((ProjectionAction.Upsert, ValueKind.Field, "customerId"), (handler.Action, handler.Key.Kind, handler.Key.Path.Single()));
        Assert.Equal(UpdateOperation.Increment, handler.Set.Single(s => s.Target == "totalSpent").Operation);
    }

    [Fact]
    public void saga_has_ordered_steps_with_replies_compensation_and_timeouts()
    {
        var saga = Orders.Sagas.Single();
        Assert.Equal(("orderId", "OrderPlaced"), (saga.CorrelateBy, saga.StartedBy.Name));
        Assert.Equal(2 * 3_600_000L, saga.Timeout!.Milliseconds);
        Assert.Equal(new[] { "Payment", "Inventory", "Shipping" }, saga.Steps.Select(s => s.Name));
        var payment = saga.Steps[0];
        Assert.Equal(("AwaitingPayment", "ChargePayment", 30_000L), (payment.State.Name, payment.Send.Name, payment.Timeout!.Milliseconds));
        Assert.Equal("PaymentCharged", payment.OnSuccess.Single().Name);
        Assert.Equal("PaymentFailed", payment.OnFailure.Single().Name);
        Assert.Equal("paymentId", payment.Keep.Single().Target);
        Assert.Equal(("RefundPayment", "RefundFailed"), (payment.Compensation!.Command.Name, payment.Compensation.OnFailure.Single().Name));
        Assert.True(saga.Steps[2].CompensationNone);
        Assert.Equal(("Completed", "Compensated", "CompensationFailed"), (saga.CompletedState.Name, saga.CompensatedState.Name, saga.CompensationFailedState.Name));
        var cancel = saga.Handlers.Single();
        Assert.Equal(("OrderCancelled", SagaOutcome.Compensate, 3), (cancel.Event.Name, cancel.Outcome, cancel.InStates.Count));
    }

    [Fact]
    public void reaction_sends_a_command_from_an_event_of_another_file()
    {
        var reaction = Orders.Reactions.Single();
        Assert.Equal(("ShipmentArranged", "ShipOrder"), (reaction.When.Name, reaction.Send.Name));
        Assert.Equal("Shop.Inventory", Orders.FindEvent(reaction.When.Name)!.Namespace);
        Assert.Equal("Order", Orders.FindCommand(reaction.Send.Name)!.Aggregate);

        var withWhere = Platform.Definitions.Loading.DefinitionLoader.Load("r.yaml", "reactions:\n  Big:\n    when: OrderPlaced\n    where: { totalAmount: { gt: 1000 } }\n    send: ConfirmOrder\nnamespace: Shop.Orders\n").Value!;
        var condition = withWhere.Reactions.Single().Where.Single();
        Assert.Equal(("totalAmount", ConditionOperator.GreaterThan, "1000"), (condition.Subject, condition.Operator, condition.Operands.Single().Text));
        Assert.Empty(DefinitionSet.Check(Corpus.Orders.Append(withWhere)).Diagnostics);
    }

    [Fact]
    public void every_primitive_maps_and_value_types_across_files_resolve()
    {
        const string shared = "contracts: Shared\nnamespace: Shop.Shared\ntypes:\n  Money: { amount: decimal, currency: Currency }\n  Currency: { enum: [KRW, USD] }\n";
        const string user = """
            contracts: User
            namespace: Shop.User
            commands:
              Everything:
                fields:
                  a: string
                  b: int
                  c: long
                  d: decimal
                  e: double
                  f: bool
                  g: guid
                  h: timestamp
                  i: date
                  j: Money?
                  k: list<Shop.Shared.Money>
                  l: map<string, list<int>>
                  m: { enum: [Low, High], optional: true }
            """;
        var files = new[] { shared, user }.Select((text, i) => Platform.Definitions.Loading.DefinitionLoader.Load($"f{i}.yaml", text).Value!).ToList();
        var result = DefinitionSet.Check(files);
        Assert.Empty(result.Diagnostics);
        var fields = files[1].Commands.Single().Fields;
        Assert.Equal(Enum.GetValues<PrimitiveType>().Where(p => p != PrimitiveType.None), fields.Take(9).Select(f => f.Type.Primitive));
        Assert.Equal(("Money", true), (fields[9].Type.Name, fields[9].Type.IsOptional));
        Assert.Equal("Money", result.Value!.FindValueType(fields[10].Type.Element!.Name)!.Name);
        Assert.Equal((TypeKind.Enum, "EverythingM", true), (fields[12].Type.Kind, fields[12].Type.Name, fields[12].Type.IsOptional));
    }

    [Fact]
    public void list_updates_add_and_remove_by_member()
    {
        const string yaml = """
            aggregate: Cart
            namespace: Shop.Carts
            id: { name: cartId, type: string }
            types:
              CartLine: { productId: string, quantity: int }
            state: { lines: list<CartLine> }
            commands:
              OpenCart: { creates: true, emits: CartOpened }
              AddLine: { fields: { line: CartLine }, emits: LineAdded }
              RemoveLine: { fields: { productId: string }, require: { productId: { nonEmpty: true } }, emits: LineRemoved }
            events:
              CartOpened: {}
              LineAdded: { fields: { line: CartLine }, apply: { lines: { add: $line } } }
              LineRemoved: { fields: { productId: string }, apply: { lines: { remove: $productId, by: productId } } }
            """;
        var file = Platform.Definitions.Loading.DefinitionLoader.Load("cart.yaml", yaml).Value!;
        Assert.Empty(DefinitionSet.Check(new[] { file }).Diagnostics);
        var remove = file.Events.Single(e => e.Name == "LineRemoved").Apply.Single();
        Assert.Equal((UpdateOperation.Remove, "productId"), (remove.Operation, remove.MatchMember));
        Assert.Equal(UpdateOperation.Add, file.Events.Single(e => e.Name == "LineAdded").Apply.Single().Operation);
    }

    [Fact]
    public void a_projection_handler_can_delete_rows()
    {
        const string yaml = "projection: OpenOrders\nnamespace: Shop.Orders\naggregate: Order\nkey: { name: orderId, type: guid }\nfields: { placedAt: timestamp }\non:\n  OrderPlaced: { action: insert, set: { placedAt: $meta.timestamp } }\n  OrderShipped: { action: delete }\n  OrderCancelled: { action: delete }\n";
        var file = Platform.Definitions.Loading.DefinitionLoader.Load("open-orders.yaml", yaml).Value!;
        Assert.Empty(DefinitionSet.Check(Corpus.Orders.Append(file)).Diagnostics);
        Assert.Equal(new[] { ProjectionAction.Insert, ProjectionAction.Delete, ProjectionAction.Delete }, file.Projection!.Handlers.Select(h => h.Action));
    }

    [Fact]
    public void diagnostics_print_in_msbuild_canonical_form_with_their_severity()
    {
        var span = new SourceSpan("defs/order.yaml", 3, 7, 3, 12, 40, 45);
        Assert.Equal("defs/order.yaml(3,7): error PLT0101: m", new Platform.Definitions.Diagnostics.DiagnosticInfo("PLT0101", Platform.Definitions.Diagnostics.DiagnosticSeverity.Error, "m", span).ToCanonicalString());
        Assert.Equal("defs/order.yaml(3,7): warning PLT0603: m", new Platform.Definitions.Diagnostics.DiagnosticInfo("PLT0603", Platform.Definitions.Diagnostics.DiagnosticSeverity.Warning, "m", span).ToCanonicalString());
    }

    [Fact]
    public void descriptions_are_kept_as_text_for_escaped_documentation()
    {
        const string yaml = "contracts: Docs\nnamespace: Shop.Docs\ncommands:\n  Ping: { description: \"Checks */ </summary> liveness\", fields: { at: timestamp } }\nevents:\n  Ponged: { description: Answered, fields: { at: { type: timestamp, description: When } } }\n";
        var file = Platform.Definitions.Loading.DefinitionLoader.Load("docs.yaml", yaml).Value!;
        Assert.Empty(DefinitionSet.Check(new[] { file }).Diagnostics);
        Assert.Equal("Checks */ </summary> liveness", file.Commands.Single().Description);
        Assert.Equal(("Answered", "When"), (file.Events.Single().Description, file.Events.Single().Fields.Single().Description));
    }
}
