"""The service file format: a service's definition (fields, steps, ordering), the
conditions on its answers and the targets of its steps. Pure: imports nothing of Baton's
but itself."""
