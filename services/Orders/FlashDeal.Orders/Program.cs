using FlashDeal.Data;
using FlashDeal.Orders;
using FlashDeal.Orders.Reconciliation;

if (Migrator.IsMigrateCommand(args))
{
    return await Migrator.RunAsync(args, OrdersMigrations.Set, OrdersApp.Configuration(args));
}
if (ReconcileCommand.IsReconcileCommand(args))
{
    return await ReconcileCommand.RunAsync(args, OrdersApp.Configuration(args));
}
var app = OrdersApp.Build(args);
await app.RunAsync();
return 0;
