using FlashDeal.TestInfrastructure;

// Starts PostgreSQL and Redis exactly as the test fixtures do and prints how to reach them; stops and deletes both at
// end of input (Ctrl-D), Ctrl-C or when this process is killed. Handy for poking at a test setup by hand, and the
// crash-cleanup test kills this process to prove nothing is left behind.
using var postgres = new PostgresServer();
using var redis = new RedisServer();
await Task.WhenAll(postgres.StartAsync(), redis.StartAsync());
Console.WriteLine($"postgres={postgres.ConnectionString}");
Console.WriteLine($"postgres_dir={postgres.Directory}");
Console.WriteLine($"redis={redis.ConnectionString}");
Console.WriteLine($"redis_dir={redis.Directory}");
Console.WriteLine("ready");
while (await Console.In.ReadLineAsync() is not null)
{
}
