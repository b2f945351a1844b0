"""The registry sandbox: a real HTTP service that plays every state registry of PROTOCOL.md from a fixture file."""
