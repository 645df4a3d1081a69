// The hand-written upcaster that order-placed.v3-upcaster.yaml names (docs/guides/versioning-an-event.md).
// Compiled by VersioningGuide together with the code generated from that definition, not by this
// project: the partial class lives in the service's assembly, beside the generated half.
#region upcaster
namespace Shop.Orders;

public sealed partial class OrderPlacedEventType
{
    // Version 2 had no priority: express orders were the urgent ones.
    private static partial OrderPlaced PriorityFromShippingMethod(OrderPlacedV2 source) => new(
        CustomerId: source.CustomerId,
        Items: source.Items,
        TotalAmount: source.TotalAmount,
        ShippingAddress: source.ShippingAddress,
        Currency: source.Currency,
        ShippingMethod: source.ShippingMethod,
        Priority: source.ShippingMethod == "EXPRESS");
}
#endregion
