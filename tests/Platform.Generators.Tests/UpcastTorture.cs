using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// An event through four schema versions, each step using another upcast (defaults of every type,
/// a removed field, counts and sums, a rename): a stored payload of each version reads as the
/// current version with the values the steps say, through the generated serializer.
/// </summary>
public class UpcastTorture
{
    const string Aggregate = """
        aggregate: Parcel
        namespace: Shop.Parcels
        id: { name: parcelId, type: guid }
        types:
          Size: { enum: [S, M, L] }
          Item: { sku: string, qty: int, price: decimal }
        state: { weight: decimal }
        commands:
          SendParcel:
            creates: true
            fields: { sender: string, items: list<Item>, size: Size, weight: decimal, insured: bool, due: date, at: timestamp, count: int, total: decimal, ratio: double, code: long, note: string?, shipped: date? }
            emits: ParcelSent
        events:
          ParcelSent:
            type: shop.parcels.sent
            version: 4
            fields: { sender: string, items: list<Item>, size: Size, weight: decimal, insured: bool, due: date, at: timestamp, count: int, total: decimal, ratio: double, code: long, note: string?, shipped: date? }
            apply: { weight: $weight }
            previous:
              - version: 1
                fields: { from: string, items: list<Item>, legacy: string }
                upcast:
                  size: { default: M }
                  weight: { default: 1.25 }
                  insured: { default: true }
                  legacy: remove
              - version: 2
                fields: { from: string, items: list<Item>, size: Size, weight: decimal, insured: bool }
                upcast:
                  due: { default: 2026-01-02 }
                  at: { default: "2026-01-02T03:04:05+09:00" }
                  count: { compute: count($items) }
                  total: { compute: sum($items.price * $items.qty) }
              - version: 3
                fields: { from: string, items: list<Item>, size: Size, weight: decimal, insured: bool, due: date, at: timestamp, count: int, total: decimal }
                upcast:
                  sender: { rename: from }
                  ratio: { default: 0.5 }
                  code: { default: 7000000000 }
                  shipped: { compute: $at }
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("parcels/parcel.yaml", Aggregate));

    // Reads a stored payload of each version through the generated descriptor, as the store does.
    const string Reader = """
        using System.Globalization;
        using System.Text;

        namespace Shop.Parcels.Run;

        public static class ParcelRead
        {
            public static string Read(string json, int version)
            {
                var e = (ParcelSent)ParcelSentEventType.Instance.Deserialize(Encoding.UTF8.GetBytes(json), version);
                return string.Create(CultureInfo.InvariantCulture,
                    $"{e.Sender} [{string.Join(" ", e.Items.Select(i => $"{i.Sku}x{i.Qty}@{i.Price}"))}] {e.Size} {e.Weight} {e.Insured} {e.Due:yyyy-MM-dd} {e.At:O} {e.Count} {e.Total} {e.Ratio} {e.Code} {e.Note ?? "-"} {e.Shipped?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "-"}");
            }
        }
        """;

    [Fact]
    public void a_payload_of_every_version_reads_as_the_current_one()
    {
        var assembly = GuideExamples.Compile("Shop.Parcels", Texts, Reader);
        var read = assembly.GetType("Shop.Parcels.Run.ParcelRead", throwOnError: true)!.GetMethod("Read")!;
        string Read(string json, int version) => (string)read.Invoke(null, [json, version])!;
        const string items = """[{"sku":"a","qty":2,"price":1.5},{"sku":"b","qty":1,"price":10}]""";

        Assert.Equal(
            [
                "ann [ax2@1.5 bx1@10] M 1.25 True 2026-01-02 2026-01-02T03:04:05.0000000+09:00 2 13.0 0.5 7000000000 - 2026-01-02",
                "bob [ax2@1.5 bx1@10] L 3 False 2026-01-02 2026-01-02T03:04:05.0000000+09:00 2 13.0 0.5 7000000000 - 2026-01-02",
                "cy [ax2@1.5 bx1@10] S 4 True 2027-05-06 2027-05-06T07:08:09.0000000+00:00 9 99 0.5 7000000000 - 2027-05-06",
                "dee [ax2@1.5 bx1@10] S 4 True 2027-05-06 2027-05-06T07:08:09.0000000+00:00 9 99 0.25 1 note 2028-01-01",
            ],
            [
                Read($$"""{"from":"ann","items":{{items}},"legacy":"x"}""", 1),
                Read($$"""{"from":"bob","items":{{items}},"size":"L","weight":3,"insured":false}""", 2),
                Read($$"""{"from":"cy","items":{{items}},"size":"S","weight":4,"insured":true,"due":"2027-05-06","at":"2027-05-06T07:08:09+00:00","count":9,"total":99}""", 3),
                Read($$"""{"sender":"dee","items":{{items}},"size":"S","weight":4,"insured":true,"due":"2027-05-06","at":"2027-05-06T07:08:09+00:00","count":9,"total":99,"ratio":0.25,"code":1,"note":"note","shipped":"2028-01-01"}""", 4),
            ]);
    }
}
