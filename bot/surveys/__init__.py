"""Co-production pulse surveys: definitions (data/surveys), answer parsing, the flow, and the Redis stores."""
