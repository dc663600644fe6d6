"""SQLite storage: schema, encodings, the `Store`, and downsampling."""
