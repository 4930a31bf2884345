"""Format detection and line parsing: pure functions from text to Records."""
