"""Real servers on loopback for tests: an HTTP server (reddit-like JSON, generated large files,
slow and failing endpoints) and an S3-compatible server (versitygw, built from its Go module)."""
