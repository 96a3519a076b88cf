"""Reads: what the pages show (queues, the overview, a request, versions), as plain
queries. Imports storage, format, rules and config; never the web layer."""
