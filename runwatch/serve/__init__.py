"""The HTTP front end of `runwatch watch --listen`: Prometheus `/metrics`, the JSON API, `/healthz`.

Like the TUI and the line printer it reads only snapshots and acts only through the engine's controller
methods (silence, acknowledge): `address` parses `HOST:PORT`, `access` decides who may ask, `metrics`
turns snapshots into Prometheus metric families, `api` answers the JSON paths, `textfile` writes the
exposition for node_exporter, and `server` is the transport on its own thread.
"""
