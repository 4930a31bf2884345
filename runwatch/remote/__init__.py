"""Other machines' runs in this terminal: `runwatch tail http://NODE:PORT …` reads the listeners of
`runwatch watch --listen` on other nodes (address.py: which arguments are nodes; client.py: HTTP;
node.py: one node as a `Controller`, polled on its own thread; merged.py: several controllers as one)."""
