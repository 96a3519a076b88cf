"""The rules: every change of state (PRODUCT.md's rules), as plain functions that own
their transaction, and the policy of who may see and do what. Imports storage, format
and config; never the web layer, FastAPI or Starlette."""

# The inbox is written by listeners on the session (app.rules.inbox): they must be
# registered in every process that writes, whatever it imported.
from app.rules import inbox as inbox  # noqa: E402
