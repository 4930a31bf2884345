"""One module per one-shot command; `cli.py` parses arguments and calls them."""
