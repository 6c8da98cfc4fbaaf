"""The hall's shared domain vocabulary: levels, kinds and statuses, the org chart and the catalogue,
the working-day calendar and clock, who holds which credentials. Imports the kernel, never a service."""
