using FlashDeal.Data;
using FlashDeal.Orders;

if (Migrator.IsMigrateCommand(args))
{
    return await Migrator.RunAsync(args, OrdersMigrations.Set, OrdersApp.Configuration(args));
}
var app = OrdersApp.Build(args);
await app.RunAsync();
return 0;
