namespace FlashDeal.Orders;

/// <summary>How PlaceOrder reserves stock (the "Orders:Strategy" setting).</summary>
public enum PlacementStrategy
{
    /// <summary>One Lua script per order in Redis, streamed into PostgreSQL afterwards (the production path).</summary>
    RedisLua,

    /// <summary>One PostgreSQL transaction per order holding the deal's inventory row lock (the baseline to compare with).</summary>
    PostgresRowLock,
}

/// <summary>When PlaceOrder answers "accepted" (the "Orders:Durability" setting).</summary>
public enum OrderDurability
{
    /// <summary>As soon as the script has run on the Redis primary (its AOF is fsynced as Redis is configured).</summary>
    Local,

    /// <summary>Once Redis's WAIT says Orders:DurableReplicas replicas hold the order; otherwise the outcome is unknown.</summary>
    Replica,
}

/// <summary>The "Orders" configuration section.</summary>
public sealed class OrdersOptions
{
    public const string Section = "Orders";

    public PlacementStrategy Strategy { get; set; } = PlacementStrategy.RedisLua;

    /// <summary>How long an accepted order holds its units before it expires unpaid.</summary>
    public TimeSpan PayWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Largest quantity one PlaceOrder may ask for (per_user_limit usually binds first).</summary>
    public int MaxQuantity { get; set; } = 100;

    /// <summary>Longest wait for Redis on the hot path; after it the outcome is unknown (UNAVAILABLE).</summary>
    public TimeSpan RedisTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>When an accepted order is answered: Local (after the script) or Replica (after WAIT).</summary>
    public OrderDurability Durability { get; set; } = OrderDurability.Local;

    /// <summary>With Replica durability: how many replicas must hold an order before it is answered.</summary>
    public int DurableReplicas { get; set; } = 1;

    /// <summary>With Replica durability: the WAIT's bound; after it the outcome is unknown (UNAVAILABLE).</summary>
    public TimeSpan ReplicaWaitTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long an in-process sold-out flag answers without Redis before it is checked again.</summary>
    public TimeSpan SoldOutFlagTtl { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the per-deal keys of this service outlive the deal's end (idempotency replays, late payments).</summary>
    public TimeSpan DealKeyRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long an order's Redis hash is kept once it reached a final status.</summary>
    public TimeSpan FinalOrderRetention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How long a payment in progress holds the order against expiry; longer than the provider timeout.</summary>
    public TimeSpan PaymentLock { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan PaymentTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the expiry sweeper looks for orders past their pay deadline.</summary>
    public TimeSpan ExpirySweepInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the payment reconciler retries lost charges' refunds and settles refund locks that ran out.</summary>
    public TimeSpan PaymentReconcileInterval { get; set; } = TimeSpan.FromSeconds(5);

    public OrderStreamOptions Stream { get; set; } = new();

    public EventOptions Events { get; set; } = new();
}

/// <summary>The "Orders:Events" section: publishing the domain events outbox to Redis (docs/events.md).</summary>
public sealed class EventOptions
{
    /// <summary>Run the event relay in this process (every replica does by default; they never publish twice).</summary>
    public bool RelayEnabled { get; set; } = true;

    /// <summary>Pause after a round that found nothing to publish.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    public int BatchSize { get; set; } = 500;

    /// <summary>Entries each event stream keeps (XADD MAXLEN ~): consumers further behind lose the oldest.</summary>
    public long StreamMaxLength { get; set; } = 1_000_000;

    /// <summary>Published outbox rows are deleted once this old (also the window in which a replayed snapshot is
    /// recognised as already emitted).</summary>
    public TimeSpan OutboxRetention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How often each relay deletes expired outbox rows.</summary>
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>The "Orders:Stream" section: draining the per-deal streams into PostgreSQL.</summary>
public sealed class OrderStreamOptions
{
    /// <summary>Run the consumer in this process (every replica does by default).</summary>
    public bool ConsumerEnabled { get; set; } = true;

    public int BatchSize { get; set; } = 500;

    /// <summary>Pause after a round that found nothing to do (no BLOCK: a blocking read would stall the multiplexer's shared connection).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Entries pending this long with another consumer are taken over (that replica is presumed dead).</summary>
    public TimeSpan ClaimMinIdle { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan ClaimInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the list of active deal streams is re-read.</summary>
    public TimeSpan RegistryRefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often finished deals (ended, drained, nothing pending) are dropped from the registry.</summary>
    public TimeSpan RegistryCleanupInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long after its end a deal stays registered at least (covers clock differences between hosts).</summary>
    public TimeSpan RegistryCleanupGrace { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Lag (entries not yet in PostgreSQL) above which the health check reports Degraded.</summary>
    public long DegradedLag { get; set; } = 100_000;
}
