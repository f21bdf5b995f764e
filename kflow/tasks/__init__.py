"""Task types, one module each: their models and what they do (run, or resolve children)."""
