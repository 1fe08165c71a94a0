using FlashDeal.LoadTool.Cli;

namespace FlashDeal.LoadTool.Tests.UnitTests;

public sealed class ToolOptionsTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("load-options-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    private Func<string, string?> Environment(params (string Key, string Value)[] values) =>
        key => key == "FLASHDEAL_DATA" ? _data : values.FirstOrDefault(v => v.Key == key).Value;

    private void WriteMeshEnv(params string[] lines) => File.WriteAllLines(Path.Combine(_data, "mesh.env"), lines);

    [Fact]
    public void CpuBudgetCoversTheMeshPidFilesByDefaultOrTheGivenProcesses()
    {
        WriteMeshEnv("FLASHDEAL_EDGE_GRPC=http://127.0.0.1:23050");
        Directory.CreateDirectory(Path.Combine(_data, "run"));
        File.WriteAllText(Path.Combine(_data, "run", "edge.pid"), "101");
        File.WriteAllText(Path.Combine(_data, "run", "orders-1.pid"), "202");

        Assert.Equal([("edge", 101), ("orders-1", 202)], ToolOptions.Parse(["spike"], Environment()).CpuProcesses);
        Assert.Null(ToolOptions.Parse(["spike", "--cpu-budget", "off"], Environment()).CpuProcesses);
        Assert.Equal([("redis", 7)], ToolOptions.Parse(["spike", "--cpu-budget=redis=7"], Environment()).CpuProcesses);
        var bad = Assert.Throws<UsageException>(() => ToolOptions.Parse(["spike", "--cpu-budget", "redis"], Environment()));
        Assert.Contains("--cpu-budget", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultsComeFromMeshEnvInTheDataFolder()
    {
        WriteMeshEnv(
            "# written by ./flashdeal up",
            "FLASHDEAL_EDGE_REST=http://127.0.0.1:23080",
            "FLASHDEAL_EDGE_GRPC=http://127.0.0.1:23050",
            "FLASHDEAL_POSTGRES=Host=127.0.0.1;Port=23432;Username=app;Database=flashdeal",
            "FLASHDEAL_REDIS=127.0.0.1:23379",
            "FLASHDEAL_ADMIN_EMAIL=root@flashdeal.local",
            "FLASHDEAL_ADMIN_PASSWORD=secret-password",
            "FLASHDEAL_ORDERS_GRPC=http://127.0.0.1:23053,http://127.0.0.1:23063");

        var options = ToolOptions.Parse(["spike"], Environment());

        Assert.Equal("grpc", options.Transport);
        Assert.Equal(new Uri("http://127.0.0.1:23050"), options.Grpc.Orders);
        Assert.Equal(new Uri("http://127.0.0.1:23080"), options.Rest.Auth);
        Assert.Equal("Host=127.0.0.1;Port=23432;Username=app;Database=flashdeal", options.Postgres);
        Assert.Equal("127.0.0.1:23379", options.Redis);
        Assert.Equal("root@flashdeal.local", options.AdminEmail);
        Assert.Equal("secret-password", options.AdminPassword);
        Assert.EndsWith("mesh.env", options.MeshEnvPath);
    }

    [Fact]
    public void WithoutAnEdgeEachServiceUsesItsOwnAddressAndGrpcEveryOrdersReplica()
    {
        WriteMeshEnv(
            "FLASHDEAL_AUTH_GRPC=http://127.0.0.1:23051",
            "FLASHDEAL_CATALOG_GRPC=http://127.0.0.1:23052",
            "FLASHDEAL_ORDERS_GRPC=http://127.0.0.1:23053,http://127.0.0.1:23063",
            "FLASHDEAL_ORDERS_REST=http://127.0.0.1:23093,http://127.0.0.1:23094");

        var options = ToolOptions.Parse(["browse"], Environment());

        Assert.Equal(new Uri("http://127.0.0.1:23051"), options.Grpc.Auth);
        Assert.Equal(new Uri("http://127.0.0.1:23052"), options.Grpc.Catalog);
        Assert.Equal([new Uri("http://127.0.0.1:23053"), new Uri("http://127.0.0.1:23063")], options.Grpc.OrdersReplicas);
        Assert.Equal(new Uri("http://127.0.0.1:23053"), options.Grpc.Orders);
        Assert.Equal("auth=http://127.0.0.1:23051, catalog=http://127.0.0.1:23052, orders=http://127.0.0.1:23053,http://127.0.0.1:23063",
            options.Grpc.ToString());
        // REST has no client-side balancing: the first replica.
        Assert.Equal([new Uri("http://127.0.0.1:23093")], options.Rest.OrdersReplicas);
        Assert.Equal(new Uri(ToolOptions.DefaultRest), options.Rest.Catalog);
    }

    [Fact]
    public void OrdersGrpcTakesAListOfReplicas()
    {
        var options = ToolOptions.Parse(["spike", "--grpc", "http://10.0.0.1:50050", "--orders-grpc",
            "http://10.0.0.2:50053, http://10.0.0.3:50053"], Environment());

        Assert.Equal(new Uri("http://10.0.0.1:50050"), options.Grpc.Catalog);
        Assert.Equal([new Uri("http://10.0.0.2:50053"), new Uri("http://10.0.0.3:50053")], options.Grpc.OrdersReplicas);
        Assert.Throws<UsageException>(() => ToolOptions.Parse(["spike", "--orders-grpc", "http://10.0.0.2:50053,nope"], Environment()));
    }

    [Fact]
    public void OrdersGrpcTakesADnsTarget()
    {
        var options = ToolOptions.Parse(["spike", "--orders-grpc", "dns:///orders-headless.flashdeal:50051"], Environment());

        Assert.Equal([new Uri("dns:///orders-headless.flashdeal:50051")], options.Grpc.OrdersReplicas);
        Assert.Throws<UsageException>(() => ToolOptions.Parse(["spike", "--orders-grpc", "dns://orders:50051"], Environment()));
        Assert.Throws<UsageException>(() => ToolOptions.Parse(["spike", "--orders-rest", "dns:///orders:8080"], Environment()));
    }

    [Fact]
    public void WithoutMeshEnvTheBuiltInDefaultsApply()
    {
        var options = ToolOptions.Parse(["spike"], Environment());

        Assert.Null(options.MeshEnvPath);
        Assert.Equal(new Uri(ToolOptions.DefaultGrpc), options.Grpc.Auth);
        Assert.Equal(new Uri(ToolOptions.DefaultRest), options.Rest.Orders);
        Assert.Null(options.Postgres);
        Assert.Equal(200, options.Users);
        Assert.Equal(100, options.Stock);
        Assert.Equal(TimeSpan.FromSeconds(5), options.OpensIn);
    }

    [Fact]
    public void CommandLineBeatsEnvironmentBeatsMeshEnv()
    {
        WriteMeshEnv("FLASHDEAL_REDIS=127.0.0.1:1", "FLASHDEAL_EDGE_REST=http://127.0.0.1:2");

        var options = ToolOptions.Parse(["spike", "--rest=http://10.0.0.9:8080", "--transport", "rest"],
            Environment(("FLASHDEAL_REDIS", "127.0.0.1:3")));

        Assert.Equal("127.0.0.1:3", options.Redis);
        Assert.Equal(new Uri("http://10.0.0.9:8080"), options.Target.Catalog);
    }

    [Fact]
    public void ScenarioOptionsAreParsed()
    {
        var options = ToolOptions.Parse(
        [
            "spike", "--users", "500", "--stock=100", "--per-user-limit", "2", "--opens-in", "1500ms",
            "--deal", "5b0e8a0c-8d7e-4a43-9b55-2f4c4c2b9a10", "--mix", "browse=1,spike=3",
        ], Environment());

        Assert.Equal(500, options.Users);
        Assert.Equal(100, options.Stock);
        Assert.Equal(2, options.PerUserLimit);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), options.OpensIn);
        Assert.Equal(Guid.Parse("5b0e8a0c-8d7e-4a43-9b55-2f4c4c2b9a10"), options.DealId);
        Assert.Equal(new Dictionary<string, int> { ["browse"] = 1, ["spike"] = 3 }, options.Mix);
    }

    [Theory]
    [InlineData("--users", "0")]
    [InlineData("--users", "many")]
    [InlineData("--stock", "-5")]
    [InlineData("--transport", "http")]
    [InlineData("--grpc", "localhost:50050")]
    [InlineData("--orders-grpc", ",")]
    [InlineData("--opens-in", "soon")]
    [InlineData("--opens-in", "5")]
    [InlineData("--opens-in", "100ms")]
    [InlineData("--deal", "42")]
    [InlineData("--mix", "browse=70,shop=30")]
    [InlineData("--mix", "browse=0")]
    [InlineData("--poll-fraction", "1.5")]
    public void ABadValueNamesItsOption(string option, string value)
    {
        var error = Assert.Throws<UsageException>(() => ToolOptions.Parse(["spike", option, value], Environment()));

        Assert.Contains(option, error.Message);
    }

    [Fact]
    public void AnOptionWithoutItsValueIsAUsageError()
    {
        var error = Assert.Throws<UsageException>(() => ToolOptions.Parse(["spike", "--users"], Environment()));

        Assert.Contains("--users", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("shop")]
    [InlineData("--users")]
    public void AMissingOrUnknownScenarioIsAUsageError(string scenario)
    {
        string[] args = scenario.Length == 0 ? [] : [scenario];

        var error = Assert.Throws<UsageException>(() => ToolOptions.Parse(args, Environment()));

        Assert.Contains("scenario", error.Message);
    }

    [Fact]
    public void AMissingMeshEnvFileNamedOnTheCommandLineIsAUsageError()
    {
        var error = Assert.Throws<UsageException>(() =>
            ToolOptions.Parse(["spike", "--mesh-env", Path.Combine(_data, "absent.env")], Environment()));

        Assert.Contains("--mesh-env", error.Message);
    }

    [Fact]
    public async Task TheCommandExitsWithTwoAndNamesTheOption()
    {
        var stderr = new StringWriter();

        var code = await LoadCommand.RunAsync(["spike", "--per-user-limit", "none"], TextWriter.Null, stderr, Environment(),
            CancellationToken.None);

        Assert.Equal(2, code);
        Assert.Contains("--per-user-limit", stderr.ToString());
    }

    [Fact]
    public void MeshEnvLinesAreKeyValueWithOptionalExportAndQuotes()
    {
        var values = MeshEnv.Parse(["# comment", "", "export A=1", "B='two words'", "C=\"x=y\"", "not a pair"]);

        Assert.Equal(new Dictionary<string, string> { ["A"] = "1", ["B"] = "two words", ["C"] = "x=y" }, values);
    }
}
