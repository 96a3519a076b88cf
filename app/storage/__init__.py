"""Storage: the engine and transactions, the tables, the migrations, and the counters and
versions kept in step with the tables in the same transactions. Imports nothing of Baton's
but `app.config` and itself."""
