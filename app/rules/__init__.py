"""The rules: every change of state (PRODUCT.md's rules), as plain functions that own
their transaction, and the policy of who may see and do what. Imports storage, format
and config; never the web layer, FastAPI or Starlette."""
