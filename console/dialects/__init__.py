"""Wire dialects, one package each: `protocol` (sans-I/O), `engine` (the client's rules), `client` (I/O)."""
