using FlashDeal.Auth;
using FlashDeal.Data;

if (Migrator.IsMigrateCommand(args))
{
    return await Migrator.RunAsync(args, AuthMigrations.Set, WebApplication.CreateSlimBuilder().Configuration);
}

var app = AuthApp.Build(args);
await app.RunAsync();
return 0;
