using System.CommandLine;
using Platform.Cli.Commands;

var root = new RootCommand("platform: check, lock and describe event-driven definitions written in YAML.");
root.Subcommands.Add(ValidateCommand.Create());
root.Subcommands.Add(LockCommand.Create());
root.Subcommands.Add(SchemaCommand.Create());
root.Subcommands.Add(GenerateCommand.Create());
root.Subcommands.Add(DocumentCommands.Diagram());
root.Subcommands.Add(DocumentCommands.AsyncApi());
root.Subcommands.Add(DocsCommand.Create());
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(DlqCommand.Create());
root.Subcommands.Add(KafkaCommands.Create());
root.Subcommands.Add(SagasCommand.Create());
root.Subcommands.Add(ProjectionCommands.Status());
root.Subcommands.Add(ProjectionCommands.Projections());
return root.Parse(args).Invoke();
