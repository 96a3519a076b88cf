"""Baton, the internal service-request desk."""
