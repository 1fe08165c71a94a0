using FlashDeal.Catalog;
using FlashDeal.Data;

if (Migrator.IsMigrateCommand(args))
{
    // The service's own configuration (appsettings*.json, ConnectionStrings__Postgres), without starting it.
    return await Migrator.RunAsync(args, CatalogMigrations.Set, WebApplication.CreateSlimBuilder(args).Configuration);
}

var app = CatalogApp.Build(args);
await app.RunAsync();
return 0;
