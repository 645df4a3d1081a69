using System.Buffers;
using Platform.Events;
using Platform.Persistence;
using Xunit;

namespace Platform.EventStore.Tests;

/// <summary>The contracts in Platform.Abstractions that need no database.</summary>
public sealed class ContractTests
{
    [Fact]
    public void expected_version_accepts_only_the_version_it_names()
    {
        Assert.True(ExpectedVersion.Any.IsSatisfiedBy(0));
        Assert.True(ExpectedVersion.Any.IsSatisfiedBy(42));
        Assert.True(ExpectedVersion.NoStream.IsSatisfiedBy(0));
        Assert.False(ExpectedVersion.NoStream.IsSatisfiedBy(1));
        Assert.True(ExpectedVersion.Exactly(3).IsSatisfiedBy(3));
        Assert.False(ExpectedVersion.Exactly(3).IsSatisfiedBy(4));
        Assert.Equal(ExpectedVersion.NoStream, ExpectedVersion.Exactly(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExpectedVersion.Exactly(-1));
        Assert.Equal("any", ExpectedVersion.Any.ToString());
        Assert.Equal("no stream", ExpectedVersion.NoStream.ToString());
    }

    [Fact]
    public void the_registry_finds_descriptors_by_stored_name_and_by_clr_type_and_refuses_duplicates()
    {
        var registry = Registries.Current();
        Assert.True(registry.TryGet("cart.item-added", out var byName));
        Assert.Same(byName, registry.Get(typeof(ItemAdded)));
        Assert.False(registry.TryGet("cart.unknown", out _));
        var missing = Assert.Throws<InvalidOperationException>(() => registry.Get(typeof(MysteryHappened)));
        Assert.Contains(nameof(MysteryHappened), missing.Message);

        var sameName = Assert.Throws<ArgumentException>(() =>
            EventTypeRegistry.Create(new ItemAddedDescriptor(), new ItemAddedV1Descriptor()));
        Assert.Contains("cart.item-added", sameName.Message);
    }

    [Fact]
    public void a_descriptor_round_trips_the_current_version_and_upcasts_older_ones()
    {
        var descriptor = new ItemAddedDescriptor();
        var buffer = new ArrayBufferWriter<byte>();
        descriptor.Serialize(new ItemAdded("sku-1", 3), buffer);
        Assert.Equal(new ItemAdded("sku-1", 3), descriptor.Deserialize(buffer.WrittenSpan, 2));
        Assert.Equal(new ItemAdded("old", 1), descriptor.Deserialize("""{"sku":"old"}"""u8, 1));
        Assert.Throws<NotSupportedException>(() => descriptor.Deserialize("""{"sku":"x"}"""u8, 3));
    }
}
