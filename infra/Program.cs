// cdk.json runs this; everything else is in InfraApp so the tests can build the same stacks.
return Pipeline.Infra.InfraApp.Run();
