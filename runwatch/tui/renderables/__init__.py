"""Pure renderables (numpy in, Rich text out): no app, no widget, no I/O."""
