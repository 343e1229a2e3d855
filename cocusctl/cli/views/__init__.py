"""Human views of result models: one module per command group, all printing through Rich."""
