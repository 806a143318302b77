"""`make bench`: cold starts, DynamoDB round trips, sweep reads, package sizes (see bench/README.md)."""
