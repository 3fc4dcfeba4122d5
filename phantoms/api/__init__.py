"""What every endpoint of the integration API shares: errors, permissions, parsing, pages, throttles, schema."""
