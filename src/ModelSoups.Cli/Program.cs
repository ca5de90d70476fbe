return ModelSoups.Cli.SoupApp.Run(args);
