"""Storage: the engine and transactions, the tables, the migrations, and the counters and
versions kept in step with the tables in the same transactions. Imports nothing of Baton's
but `app.config` and itself."""

# The JSON API's tables (app.storage.models is at its size): registered with the models'.
# The search index keeps itself in step through session events (no rule calls it), so
# its listeners must be registered in every process that writes, whatever it imported:
# a CLI command filing the demo's requests never imports the search page.
from app.storage import api_tables as api_tables  # noqa: E402
from app.storage import search_index as search_index  # noqa: E402
