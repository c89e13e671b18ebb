"""saaswatch collector: the daemon core (config, store, scheduler, sync runner, exporter, CLI)."""

__version__ = "0.1.0"
