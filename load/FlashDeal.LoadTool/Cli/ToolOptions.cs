using System.Globalization;
using FlashDeal.Load;
using FlashDeal.LoadTool.Api;

namespace FlashDeal.LoadTool.Cli;

/// <summary>A bad command line: exit code 2, the message names the option.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Everything `./flashdeal load` accepts. The scenario options are parsed here; the engine's shared ones (--mode, --stages,
/// --threshold, --out, --max-in-flight, --max-iterations, --timeout, --quiet) go to <see cref="LoadOptions.Parse"/>.
/// Defaults come from mesh.env (see <see cref="MeshEnv"/>), then built-in values.
/// </summary>
public sealed class ToolOptions
{
    public static readonly string[] Scenarios = ["spike", "browse", "history", "login", "mix", "coupon", "lists"];

    /// <summary>What --mix may weigh.</summary>
    private static readonly string[] MixParts = ["browse", "history", "login", "spike"];

    public const string DefaultGrpc = "http://127.0.0.1:50050";
    public const string DefaultRest = "http://127.0.0.1:8080";

    public required string Scenario { get; init; }

    public string Transport { get; private set; } = "grpc";

    public ServiceEndpoints Grpc { get; private set; } = ServiceEndpoints.All(new Uri(DefaultGrpc));

    public ServiceEndpoints Rest { get; private set; } = ServiceEndpoints.All(new Uri(DefaultRest));

    public ServiceEndpoints Target => Transport == "rest" ? Rest : Grpc;

    public string? Postgres { get; private set; }

    public string? Redis { get; private set; }

    /// <summary>The mesh's Prometheus (FLASHDEAL_PROMETHEUS_URL in mesh.env): the spike report links its series.</summary>
    public string? Prometheus { get; private set; }

    public string? AdminEmail { get; private set; }

    public string? AdminPassword { get; private set; }

    public int Users { get; private set; } = 200;

    public int Stock { get; private set; } = 100;

    public int PerUserLimit { get; private set; } = 1;

    public TimeSpan OpensIn { get; private set; } = TimeSpan.FromSeconds(5);

    public Guid? DealId { get; private set; }

    public IReadOnlyDictionary<string, int> Mix { get; private set; } = ParseMix("browse=70,history=10,login=10,spike=10");

    public int Connections { get; private set; } = 4;

    public TimeSpan CallTimeout { get; private set; } = TimeSpan.FromSeconds(10);

    public double PollFraction { get; private set; } = 0.1;

    public double RepeatFraction { get; private set; } = 0.1;

    public int LoginConcurrency { get; private set; } = 32;

    public TimeSpan CheckTimeout { get; private set; } = TimeSpan.FromSeconds(30);

    public string UserPrefix { get; private set; } = "load";

    public int SeedOrders { get; private set; } = 2;

    /// <summary>--coupons N: the coupon campaign's total quantity.</summary>
    public int Coupons { get; private set; } = 100;

    /// <summary>--page-size N: the ListProducts page of the lists scenario.</summary>
    public int PageSize { get; private set; } = 20;

    /// <summary>--profile soak|stress|extreme|sequential|ramp (see <see cref="Profiles"/>), null for none.</summary>
    public string? Profile { get; private set; }

    /// <summary>Stress steps: --start, --step, --max (iterations/s, or users with --mode closed), --step-duration.</summary>
    public double StressStart { get; private set; } = 50;

    public double StressStep { get; private set; } = 50;

    public double StressMax { get; private set; } = 1000;

    public TimeSpan StressStepDuration { get; private set; } = TimeSpan.FromSeconds(10);

    /// <summary>Which of the stress options were given (a profile may only take them with --profile stress).</summary>
    internal HashSet<string> Given { get; } = new(StringComparer.Ordinal);

    /// <summary>Where the defaults came from (for the report), null when no mesh.env was found.</summary>
    public string? MeshEnvPath { get; private set; }

    public LoadOptions Load { get; private set; } = new();

    /// <summary>--cpu-budget: "mesh" (the pid files beside mesh.env), "off", or name=pid pairs.</summary>
    public string CpuBudget { get; private set; } = "mesh";

    /// <summary>The processes the CPU budget covers besides the load tool; null when it is off.</summary>
    public IReadOnlyList<(string Name, int Pid)>? CpuProcesses => CpuBudget switch
    {
        "off" => null,
        "mesh" => MeshEnvPath is null ? [] : [.. FlashDeal.Load.CpuBudget.FromPidFolder(Path.Combine(Path.GetDirectoryName(MeshEnvPath)!, "run"))],
        _ => FlashDeal.Load.CpuBudget.Parse(CpuBudget),
    };

    public static string Usage => """
        usage: ./flashdeal load <spike|browse|history|login|mix|coupon|lists> [options]      (docs/load.md)
        exit code: 0 every threshold and invariant passed, 1 something failed, 2 a bad option

        where and who (defaults from $FLASHDEAL_DATA/mesh.env, written by ./flashdeal up):
          --transport grpc|rest     API used by every call (default grpc)
          --grpc URL  --rest URL    address of all three services, e.g. the edge (defaults 127.0.0.1:50050 / :8080)
          --auth-grpc URL --catalog-grpc URL --auth-rest URL --catalog-rest URL --orders-rest URL   one service
          --orders-grpc URL[,URL…]  orders replicas called directly, balanced by the gRPC client (round robin);
                              or dns:///host:port (every address of the name, re-resolved: a headless Service)
          --postgres CONN --redis CONN          stores for the invariant checks
          --admin-email E --admin-password P    the admin who creates products and deals
          --mesh-env FILE           read defaults from this file instead
        scenarios:
          --users N                 accounts signed up / logged in before the run (default 200)
          --stock N --per-user-limit N --opens-in D   the spike's deal (defaults 100, 1, 5s); --deal ID: an existing deal
          --mix "browse=70,history=10,login=10,spike=10"   weights of the mix scenario
          --poll-fraction F         spike iterations that poll GetDeal (default 0.1)
          --repeat-fraction F       users who order past the per-user limit (default 0.1)
          --login-concurrency N     sign-ups/log-ins in flight during set-up (default 32)
          --connections N           gRPC channels per address or set of orders replicas (default 4)
          --call-timeout D          deadline of each call (default 10s)
          --check-timeout D         wait for PostgreSQL to catch up before the checks (default 30s)
          --user-prefix NAME        accounts user-<i>@NAME.loadtest.flashdeal.dev (default load)
          --seed-orders N           orders per user seeded by history (default 2)
          --coupons N               coupons in the coupon scenario's campaign (default 100)
          --page-size N             ListProducts page of the lists scenario (default 20)
        profiles (docs/load.md, "Profiles"; every option they set can be given too):
          --profile soak            a long steady run (--duration required, at most 24h; --rate R or --vus N) cut into
                              --window windows (default 30s): latency, throughput, errors, memory; "drift:p95<1.5x"
          --profile stress          steps from --start by --step up to --max (iterations/s, or users with --mode closed),
                              --step-duration each (default 10s), until --break holds (default "errors>1%,p95>1s"); the knee
          --profile extreme         100 users share 100 iterations (--vus, --shared-iterations); threshold p99<3s
          --profile sequential      one user, back to back, --iterations (default --users)
          --profile ramp            users 0→20→50→0 (closed stages) with --think-time 500ms-2s; threshold p99<1s
          --cpu-budget mesh|off|NAME=PID,…   CPU per call while the stages run, per process: the load tool, the
                              local mesh's processes (pid files beside mesh.env; default) or these, the rest of the machine
        engine:

        """ + LoadOptions.Usage;

    private static readonly Dictionary<string, Action<ToolOptions, string, string>> Setters = new(StringComparer.Ordinal)
    {
        ["--transport"] = (o, n, v) => o.Transport = v is "grpc" or "rest" ? v : throw Bad(n, v, "grpc or rest"),
        ["--grpc"] = (o, n, v) => o.Grpc = ServiceEndpoints.All(ParseGrpcUrl(n, v)),
        ["--rest"] = (o, n, v) => o.Rest = ServiceEndpoints.All(ParseUrl(n, v)),
        ["--auth-grpc"] = (o, n, v) => o.Grpc = o.Grpc with { Auth = ParseGrpcUrl(n, v) },
        ["--catalog-grpc"] = (o, n, v) => o.Grpc = o.Grpc with { Catalog = ParseGrpcUrl(n, v) },
        ["--orders-grpc"] = (o, n, v) => o.Grpc = o.Grpc with { OrdersReplicas = ParseUrls(n, v, grpc: true) },
        ["--auth-rest"] = (o, n, v) => o.Rest = o.Rest with { Auth = ParseUrl(n, v) },
        ["--catalog-rest"] = (o, n, v) => o.Rest = o.Rest with { Catalog = ParseUrl(n, v) },
        ["--orders-rest"] = (o, n, v) => o.Rest = o.Rest with { OrdersReplicas = [ParseUrl(n, v)] },
        ["--postgres"] = (o, n, v) => o.Postgres = NotEmpty(n, v),
        ["--redis"] = (o, n, v) => o.Redis = NotEmpty(n, v),
        ["--admin-email"] = (o, n, v) => o.AdminEmail = NotEmpty(n, v),
        ["--admin-password"] = (o, n, v) => o.AdminPassword = NotEmpty(n, v),
        ["--users"] = (o, n, v) => o.Users = ParseInt(n, v, 1, 1_000_000),
        ["--stock"] = (o, n, v) => o.Stock = ParseInt(n, v, 1, 10_000_000),
        ["--per-user-limit"] = (o, n, v) => o.PerUserLimit = ParseInt(n, v, 1, 1000),
        ["--opens-in"] = (o, n, v) => o.OpensIn = ParseDuration(n, v, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)),
        ["--deal"] = (o, n, v) => o.DealId = Guid.TryParse(v, out var id) ? id : throw Bad(n, v, "a deal id (UUID)"),
        ["--mix"] = (o, n, v) => o.Mix = ParseMix(v, n),
        ["--mesh-env"] = (_, _, _) => { },
        ["--connections"] = (o, n, v) => o.Connections = ParseInt(n, v, 1, 64),
        ["--call-timeout"] = (o, n, v) => o.CallTimeout = ParseDuration(n, v, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(5)),
        ["--poll-fraction"] = (o, n, v) => o.PollFraction = ParseFraction(n, v),
        ["--repeat-fraction"] = (o, n, v) => o.RepeatFraction = ParseFraction(n, v),
        ["--login-concurrency"] = (o, n, v) => o.LoginConcurrency = ParseInt(n, v, 1, 4096),
        ["--check-timeout"] = (o, n, v) => o.CheckTimeout = ParseDuration(n, v, TimeSpan.Zero, TimeSpan.FromMinutes(30)),
        ["--user-prefix"] = (o, n, v) => o.UserPrefix = IsName(v) ? v : throw Bad(n, v, "letters, digits and '-'"),
        ["--seed-orders"] = (o, n, v) => o.SeedOrders = ParseInt(n, v, 0, 100),
        ["--coupons"] = (o, n, v) => o.Coupons = ParseInt(n, v, 1, 10_000_000),
        ["--page-size"] = (o, n, v) => o.PageSize = ParseInt(n, v, 1, 1000),
        ["--profile"] = (o, n, v) => o.Profile = Profiles.Names.Contains(v) ? v : throw Bad(n, v, string.Join(", ", Profiles.Names)),
        ["--start"] = (o, n, v) => o.StressStart = ParseNumber(n, v),
        ["--step"] = (o, n, v) => o.StressStep = ParseNumber(n, v),
        ["--max"] = (o, n, v) => o.StressMax = ParseNumber(n, v),
        ["--step-duration"] = (o, n, v) => o.StressStepDuration = ParseDuration(n, v, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)),
        ["--cpu-budget"] = (o, n, v) => o.CpuBudget = v is "mesh" or "off" || IsProcessList(v) ? v
            : throw Bad(n, v, "mesh, off or name=pid,name=pid"),
    };

    /// <param name="args">Everything after "load": the scenario, then options ("--name value" or "--name=value").</param>
    /// <param name="environment">Reads environment variables (FLASHDEAL_DATA, and FLASHDEAL_* overriding mesh.env).</param>
    public static ToolOptions Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        if (args.Count == 0 || args[0].StartsWith('-'))
        {
            throw new UsageException($"missing scenario: one of {string.Join(", ", Scenarios)}");
        }
        if (!Scenarios.Contains(args[0]))
        {
            throw new UsageException($"unknown scenario '{args[0]}': one of {string.Join(", ", Scenarios)}");
        }
        var own = new List<(string Name, string Value)>();
        var engine = new List<string>();
        for (var i = 1; i < args.Count; i++)
        {
            var arg = args[i];
            var equals = arg.IndexOf('=');
            var name = arg.StartsWith("--", StringComparison.Ordinal) && equals > 0 ? arg[..equals] : arg;
            if (!Setters.ContainsKey(name))
            {
                engine.Add(arg);
                continue;
            }
            string value;
            if (name.Length < arg.Length)
            {
                value = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                throw new UsageException($"option {name} needs a value");
            }
            own.Add((name, value));
        }

        var meshPath = own.LastOrDefault(o => o.Name == "--mesh-env").Value ?? MeshEnv.DefaultPath(environment);
        if (own.Any(o => o.Name == "--mesh-env") && !File.Exists(meshPath))
        {
            throw new UsageException($"option --mesh-env: no file '{meshPath}'");
        }
        var mesh = MeshEnv.Load(meshPath);
        string? Setting(string key) => environment(key) is { Length: > 0 } value ? value
            : mesh.TryGetValue(key, out var fromFile) && fromFile.Length > 0 ? fromFile : null;

        var options = new ToolOptions { Scenario = args[0], MeshEnvPath = mesh.Count > 0 ? Path.GetFullPath(meshPath) : null };
        options.ApplyDefaults(Setting);
        foreach (var (name, value) in own)
        {
            Setters[name](options, name, value);
            options.Given.Add(name);
        }

        LoadOptions load;
        try
        {
            load = LoadOptions.Parse(engine, validate: false);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        if (load.Remaining.Count > 0)
        {
            throw new UsageException($"unknown option '{load.Remaining[0]}' (./flashdeal load --help lists them)");
        }
        options.Load = load;
        try
        {
            Profiles.Apply(options, engine);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message.Split(" (Parameter")[0]);
        }
        return options;
    }

    private void ApplyDefaults(Func<string, string?> setting)
    {
        Grpc = Endpoints(setting, "GRPC", DefaultGrpc);
        Rest = Endpoints(setting, "REST", DefaultRest);
        Postgres = setting("FLASHDEAL_POSTGRES");
        Redis = setting("FLASHDEAL_REDIS");
        Prometheus = setting("FLASHDEAL_PROMETHEUS_URL");
        AdminEmail = setting("FLASHDEAL_ADMIN_EMAIL") ?? "admin@flashdeal.local";
        AdminPassword = setting("FLASHDEAL_ADMIN_PASSWORD") ?? "flashdeal-admin-demo";
    }

    /// <summary>The edge when the mesh has one; else each service's own address (over gRPC every orders replica, which
    /// the client balances; over REST the first); else the edge's default port.</summary>
    private static ServiceEndpoints Endpoints(Func<string, string?> setting, string kind, string fallback)
    {
        var grpc = kind == "GRPC";
        Uri Parse(string name, string value) => grpc ? ParseGrpcUrl(name, value) : ParseUrl(name, value);
        if (setting($"FLASHDEAL_EDGE_{kind}") is { } edge)
        {
            return ServiceEndpoints.All(Parse($"FLASHDEAL_EDGE_{kind}", edge));
        }
        var auth = setting($"FLASHDEAL_AUTH_{kind}");
        var catalog = setting($"FLASHDEAL_CATALOG_{kind}");
        var orders = setting($"FLASHDEAL_ORDERS_{kind}") is { } list ? ParseUrls($"FLASHDEAL_ORDERS_{kind}", list, grpc) : null;
        var defaults = new Uri(fallback);
        return new ServiceEndpoints(
            auth is null ? defaults : Parse($"FLASHDEAL_AUTH_{kind}", auth),
            catalog is null ? defaults : Parse($"FLASHDEAL_CATALOG_{kind}", catalog),
            orders is null ? [defaults] : kind == "GRPC" ? orders : [orders[0]]);
    }

    public static IReadOnlyDictionary<string, int> ParseMix(string value) => ParseMix(value, "--mix");

    private static Dictionary<string, int> ParseMix(string value, string name)
    {
        var weights = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pair = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pair.Length != 2 || !MixParts.Contains(pair[0]))
            {
                throw Bad(name, value, "scenario=weight pairs of browse, history, login, spike");
            }
            if (!int.TryParse(pair[1], NumberStyles.None, CultureInfo.InvariantCulture, out var weight) || weight > 1_000_000)
            {
                throw Bad(name, value, $"a whole weight for {pair[0]}");
            }
            weights[pair[0]] = weight;
        }
        if (weights.Values.Sum() == 0)
        {
            throw Bad(name, value, "at least one positive weight");
        }
        return weights;
    }

    private static Uri ParseUrl(string name, string value) =>
        Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw Bad(name, value, "an http:// URL");

    /// <summary>
    /// A gRPC target: an http:// URL, or dns:///host:port, which the gRPC client resolves (every address the name has,
    /// re-resolved periodically: a Kubernetes headless Service) and balances round robin.
    /// </summary>
    private static Uri ParseGrpcUrl(string name, string value) =>
        Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) && uri.Scheme == "dns"
            ? uri.AbsolutePath.TrimStart('/').Contains(':', StringComparison.Ordinal) && uri.Host.Length == 0
                ? uri
                : throw Bad(name, value, "dns:///host:port")
            : ParseUrl(name, value);

    /// <summary>A comma-separated list of http:// URLs (at least one; over gRPC also one dns:///host:port).</summary>
    private static Uri[] ParseUrls(string name, string value, bool grpc = false)
    {
        var urls = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return urls.Length == 0
            ? throw Bad(name, value, "an http:// URL")
            : [.. urls.Select(url => grpc ? ParseGrpcUrl(name, url) : ParseUrl(name, url))];
    }

    private static string NotEmpty(string name, string value) =>
        string.IsNullOrWhiteSpace(value) ? throw Bad(name, value, "a value") : value;

    private static int ParseInt(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw Bad(name, value, $"a whole number from {min} to {max}");

    private static double ParseNumber(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && double.IsFinite(n) && n > 0 && n <= 1_000_000
            ? n
            : throw Bad(name, value, "a number above 0 (up to 1000000)");

    private static double ParseFraction(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && f is >= 0 and <= 1
            ? f
            : throw Bad(name, value, "a fraction from 0 to 1");

    /// <summary>Durations as the engine writes them (DurationText): "500ms", "5s", "2m", "1m30s"; a bare number is refused.</summary>
    public static TimeSpan ParseDuration(string name, string value, TimeSpan min, TimeSpan max)
    {
        if (!DurationText.TryParse(value, out var duration))
        {
            throw Bad(name, value, "a duration like 500ms, 5s, 2m");
        }
        return duration >= min && duration <= max ? duration : throw Bad(name, value, $"a duration from {min} to {max}");
    }

    private static bool IsName(string value) =>
        value.Length is > 0 and <= 40 && value.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    private static bool IsProcessList(string value)
    {
        try
        {
            return FlashDeal.Load.CpuBudget.Parse(value).Count > 0;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static UsageException Bad(string name, string value, string expected) =>
        new($"option {name}: '{value}' is not {expected}");
}
