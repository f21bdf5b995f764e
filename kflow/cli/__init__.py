"""The `kflow` command line."""
