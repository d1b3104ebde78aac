"""Services: what the HTTP handlers, the CLI and the engine ask of the server side."""
