"""Test-only extensions of moto's IAM backend, one operation family a file."""
