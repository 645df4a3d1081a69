using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// Values read through an optional list or value that is unset, in an aggregate's <c>apply:</c> and
/// a projection's <c>set:</c>: <c>count()</c> and <c>sum()</c> of an unset list are 0, a member of an
/// unset value is absent at any depth (<c>$address.geo.zone</c> with either unset; text the target
/// requires is empty, a number 0 and an enum its first member, as is optional text a required field takes), and a key value that
/// is unset selects no row. The generated code threw on null, or keyed such events by an empty guid.
/// </summary>
public class OptionalValueTorture
{
    const string Aggregate = """
        aggregate: Cart
        namespace: Shop.Carts
        id: { name: cartId, type: guid }
        types:
          Line: { sku: string, price: decimal, quantity: int }
          Address: { city: string, zip: string?, geo: Geo? }
          Geo: { zone: string, floor: int, grade: Grade }
          Grade: { enum: [Low, High] }
        state: { lines: int, total: decimal, city: string?, zip: string?, note: string, tags: list<string>, zone: string?, floor: int, grade: Grade? }
        commands:
          Fill:
            creates: true
            fields: { items: list<Line>?, address: Address?, coupon: guid?, note: string?, tags: list<string>?, pickup: Address }
            emits: Filled
        events:
          Filled:
            type: shop.carts.filled
            fields: { items: list<Line>?, address: Address?, coupon: guid?, note: string?, tags: list<string>?, pickup: Address }
            apply: { lines: count($items), total: sum($items.price * $items.quantity), city: $address.city, zip: $address.zip, note: $note, tags: $tags, zone: $address.geo.zone, floor: $address.geo.floor, grade: $address.geo.grade }
        """;

    const string View = """
        projection: CartView
        namespace: Shop.Carts
        aggregate: Cart
        key: { name: cartId, type: guid }
        fields: { lines: int, total: decimal, city: string, zip: string?, note: string, tags: list<string>, zone: string, floor: int?, grade: Grade }
        on:
          Filled: { action: upsert, set: { lines: count($items), total: sum($items.price * $items.quantity), city: $address.city, zip: $address.zip, note: $note, tags: $tags, zone: $address.geo.zone, floor: $address.geo.floor, grade: $address.geo.grade } }
        """;

    // Keyed by values a cart may leave unset (a member of an unset value, at any depth): such a cart selects no row.
    const string ByCity = """
        projection: CartsByCity
        namespace: Shop.Carts
        key: { name: city, type: string }
        fields: { carts: int }
        on:
          Filled: { action: upsert, key: $address.city, set: { carts: { increment: 1 } } }
        """;

    const string ByZone = """
        projection: CartsByZone
        namespace: Shop.Carts
        key: { name: zone, type: string }
        fields: { carts: int }
        on:
          Filled: { action: upsert, key: $pickup.geo.zone, set: { carts: { increment: 1 } } }
        """;

    const string ByCoupon = """
        projection: CartsByCoupon
        namespace: Shop.Carts
        key: { name: coupon, type: guid }
        fields: { carts: int }
        on:
          Filled: { action: upsert, key: $coupon, set: { carts: { increment: 1 } } }
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("carts/cart.yaml", Aggregate),
        new GeneratorHarness.InMemoryText("carts/cart-view.yaml", View),
        new GeneratorHarness.InMemoryText("carts/carts-by-city.yaml", ByCity),
        new GeneratorHarness.InMemoryText("carts/carts-by-coupon.yaml", ByCoupon),
        new GeneratorHarness.InMemoryText("carts/carts-by-zone.yaml", ByZone));

    const string Service = """
        using Microsoft.EntityFrameworkCore;
        using Microsoft.Extensions.DependencyInjection;
        using Platform.Persistence;
        using Platform.Runtime.Commands;
        using Platform.Runtime.Configuration;
        using Platform.Runtime.Projections;
        using Platform.Torture;

        namespace Shop.Carts.Run;

        public static class CartRun
        {
            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, Guid empty, Guid full, Guid half)
            {
                return await Hosted.RunAsync<IReadOnlyList<string>>(Hosted.Build(postgres, connectionString, typeof(CartsDomain)), async services =>
                {
                    var commands = services.GetRequiredService<ICommandDispatcher>();
                    await commands.DispatchAsync(new Fill(empty, null, null, null, null, null, new Address("Oslo", null, null)));
                    await commands.DispatchAsync(new Fill(full, [new Line("a", 2.5m, 2), new Line("b", 1m, 1)], new Address("Oslo", null, new Geo("north", 3, Grade.High)), full, "ring twice", ["gift", "fragile"], new Address("Oslo", null, new Geo("north", 1, Grade.Low))));
                    var last = await commands.DispatchAsync(new Fill(half, null, new Address("Bergen", "5003", null), null, null, null, new Address("Bergen", null, null)));
                    var carts = new[] { ("empty", empty), ("full", full), ("half", half) };
                    string Name(Guid id) => carts.Single(c => c.Item2 == id).Item1;
                    var lines = new List<string>();
                    foreach (var (name, id) in carts)
                    {
                        var state = (await services.GetRequiredService<IAggregateStore>().LoadAsync(new Cart(), id.ToString("D"))).State;
                        lines.Add($"state {name}: lines {state.Lines} total {state.Total:0.00} city {state.City ?? "none"} zip {state.Zip ?? "none"} note '{state.Note}' tags {state.Tags.Count} zone {state.Zone ?? "none"} floor {state.Floor} grade {state.Grade?.ToString() ?? "none"}");
                    }
                    await Hosted.CaughtUpAsync(services, last.Position, CartViewProjection.ProjectionName, CartsByCityProjection.ProjectionName, CartsByCouponProjection.ProjectionName, CartsByZoneProjection.ProjectionName);
                    await using (var cities = await services.GetRequiredService<ReadModels>().OpenAsync(CartsByCityProjection.ProjectionName))
                        lines.AddRange((await cities.Set<CartsByCity>().ToListAsync()).OrderBy(r => r.City, StringComparer.Ordinal).Select(r => $"city '{r.City}': {r.Carts}"));
                    await using (var zones = await services.GetRequiredService<ReadModels>().OpenAsync(CartsByZoneProjection.ProjectionName))
                        lines.AddRange((await zones.Set<CartsByZone>().ToListAsync()).Select(r => $"zone '{r.Zone}': {r.Carts}"));
                    await using (var coupons = await services.GetRequiredService<ReadModels>().OpenAsync(CartsByCouponProjection.ProjectionName))
                        lines.AddRange((await coupons.Set<CartsByCoupon>().ToListAsync()).Select(r => $"coupon {(r.Coupon == full ? "full" : r.Coupon.ToString())}: {r.Carts}"));
                    await using var rows = await services.GetRequiredService<ReadModels>().OpenAsync(CartViewProjection.ProjectionName);
                    foreach (var row in (await rows.Set<CartView>().ToListAsync()).OrderBy(r => Name(r.CartId), StringComparer.Ordinal))
                        lines.Add($"view {Name(row.CartId)}: lines {row.Lines} total {row.Total:0.00} city '{row.City}' zip {row.Zip ?? "none"} note '{row.Note}' tags {row.Tags.Count} zone '{row.Zone}' floor {row.Floor?.ToString() ?? "none"} grade {row.Grade}");
                    return lines;
                });
            }
        }
        """;

    [SkippableTheory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.Postgres)]
    public Task an_unset_list_counts_and_sums_to_zero_and_an_unset_values_members_are_absent(Store store) =>
        GuideExamples.AssertRunAsync(store, "Shop.Carts", Texts, Service, "Shop.Carts.Run.CartRun",
            [
                "state empty: lines 0 total 0.00 city none zip none note '' tags 0 zone none floor 0 grade none",
                "state full: lines 2 total 6.00 city Oslo zip none note 'ring twice' tags 2 zone north floor 3 grade High",
                "state half: lines 0 total 0.00 city Bergen zip 5003 note '' tags 0 zone none floor 0 grade none",
                "city 'Bergen': 1",
                "city 'Oslo': 1",
                "zone 'north': 1",
                "coupon full: 1",
                "view empty: lines 0 total 0.00 city '' zip none note '' tags 0 zone '' floor none grade Low",
                "view full: lines 2 total 6.00 city 'Oslo' zip none note 'ring twice' tags 2 zone 'north' floor 3 grade High",
                "view half: lines 0 total 0.00 city 'Bergen' zip 5003 note '' tags 0 zone '' floor none grade Low",
            ],
            Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
}
