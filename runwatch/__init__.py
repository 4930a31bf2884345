"""runwatch: a live terminal monitor and watchdog for machine-learning training runs."""

__version__ = "0.1.0"
