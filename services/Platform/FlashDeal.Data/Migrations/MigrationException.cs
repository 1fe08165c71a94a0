namespace FlashDeal.Data;

/// <summary>A migration could not be loaded, applied or reverted; the message says which file and why.</summary>
public class MigrationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An applied migration's file changed since it ran: the database no longer matches the code's history.</summary>
public sealed class MigrationChecksumException(string message) : MigrationException(message);
