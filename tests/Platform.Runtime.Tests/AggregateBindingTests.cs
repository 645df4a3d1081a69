using Platform.Events;
using Platform.Persistence;
using Platform.Runtime.Domains;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// The runtime binds a generated aggregate by its <c>Handle</c> methods. Services check their
/// generated code in, so a newer runtime meets code generated before <c>Handle</c> took the
/// command's metadata: both shapes bind, and only the newer one is given the metadata.
/// </summary>
public sealed class AggregateBindingTests
{
    public sealed record Bump(string Id);

    public sealed record Bumped(string? By);

    // What the generator wrote before: Handle(state, version, command), typed and untyped.
    sealed class Older : AggregateDefinition<int>
    {
        public override string AggregateType => "Counter";
        public override int CreateEmpty() => 0;
        public override int Apply(int state, object @event) => state + 1;
        public static string StreamIdOf(object command) => ((Bump)command).Id;
        public IReadOnlyList<object> Handle(int state, long version, object command) => Handle(state, version, (Bump)command);
        public IReadOnlyList<object> Handle(int state, long version, Bump command) => [new Bumped(null)];
    }

    // What it writes now: the same, with the metadata the events will carry.
    sealed class Current : AggregateDefinition<int>
    {
        public override string AggregateType => "Counter";
        public override int CreateEmpty() => 0;
        public override int Apply(int state, object @event) => state + 1;
        public static string StreamIdOf(object command) => ((Bump)command).Id;
        public IReadOnlyList<object> Handle(int state, long version, object command) => Handle(state, version, command, null);
        public IReadOnlyList<object> Handle(int state, long version, object command, EventMetadata? metadata) => Handle(state, version, (Bump)command, metadata);
        public IReadOnlyList<object> Handle(int state, long version, Bump command, EventMetadata? metadata = null) => [new Bumped(metadata?.UserId)];
    }

    // Keeps what is saved; enough to run one command.
    sealed class Saved : IAggregateStore
    {
        public List<EventData> Events { get; } = [];

        public Task<LoadedAggregate<TState>> LoadAsync<TState>(AggregateDefinition<TState> definition, string id, CancellationToken cancellationToken = default) =>
            Task.FromResult(new LoadedAggregate<TState>(id, definition.CreateEmpty(), 0, 0));

        public Task<LoadedAggregate<TState>> SaveAsync<TState>(AggregateDefinition<TState> definition, LoadedAggregate<TState> loaded,
            IReadOnlyList<EventData> events, CancellationToken cancellationToken = default)
        {
            Events.AddRange(events);
            return Task.FromResult(loaded with { Version = loaded.Version + events.Count });
        }

        public Task<StoredCommand?> FindCommandAsync(string id, Guid commandId, string commandType, CancellationToken cancellationToken = default) =>
            Task.FromResult<StoredCommand?>(null);
    }

    // The store found the command's events already stored (another delivery loaded the same version
    // and saved first): the version after the save is the one this run would have reached, so only
    // the store's word tells the binding it appended nothing.
    sealed class StoredByAnother : IAggregateStore
    {
        public Task<LoadedAggregate<TState>> LoadAsync<TState>(AggregateDefinition<TState> definition, string id, CancellationToken cancellationToken = default) =>
            Task.FromResult(new LoadedAggregate<TState>(id, definition.CreateEmpty(), 0, 0));

        public Task<LoadedAggregate<TState>> SaveAsync<TState>(AggregateDefinition<TState> definition, LoadedAggregate<TState> loaded,
            IReadOnlyList<EventData> events, CancellationToken cancellationToken = default) =>
            Task.FromResult(loaded with { Version = loaded.Version + events.Count, AlreadyStored = true });

        public Task<StoredCommand?> FindCommandAsync(string id, Guid commandId, string commandType, CancellationToken cancellationToken = default) =>
            Task.FromResult<StoredCommand?>(null);
    }

    [Fact]
    public async Task a_save_that_found_the_events_stored_is_reported_though_the_version_moved_as_expected()
    {
        var binding = new AggregateBinding<int>(new Current());
        var (version, _, alreadyStored) = await binding.ExecuteOnceAsync(new StoredByAnother(), "c-1", new Bump("c-1"), Guid.NewGuid(),
            new EventMetadata(), null, CancellationToken.None);
        Assert.Equal((1, true), (version, alreadyStored));
        var (_, _, fresh) = await binding.ExecuteOnceAsync(new Saved(), "c-1", new Bump("c-1"), Guid.NewGuid(), new EventMetadata(), null, CancellationToken.None);
        Assert.False(fresh);
    }

    [Fact]
    public async Task code_generated_before_handle_took_the_metadata_binds_and_runs_as_before()
    {
        var metadata = new EventMetadata("flow-1", "command-1", "ann");
        foreach (var (binding, by) in new (AggregateBinding, string?)[] { (new AggregateBinding<int>(new Older()), null), (new AggregateBinding<int>(new Current()), "ann") })
        {
            Assert.Equal([typeof(Bump)], binding.CommandTypes);
            var store = new Saved();
            var (version, _, _) = await binding.ExecuteOnceAsync(store, "c-1", new Bump("c-1"), Guid.NewGuid(), metadata, null, CancellationToken.None);
            Assert.Equal(1, version);
            var saved = Assert.Single(store.Events);
            // Its events carry the metadata either way; only the newer code read it.
            Assert.Equal("ann", saved.Metadata.UserId);
            Assert.Equal(by, ((Bumped)saved.Event).By);
        }
    }
}
