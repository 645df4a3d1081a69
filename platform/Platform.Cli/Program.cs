using System.CommandLine;
using Platform.Cli.Commands;

var root = new RootCommand("platform: check, lock and describe event-driven definitions written in YAML.");
root.Subcommands.Add(ValidateCommand.Create());
root.Subcommands.Add(LockCommand.Create());
root.Subcommands.Add(SchemaCommand.Create());
root.Subcommands.Add(GenerateCommand.Create());
return root.Parse(args).Invoke();
