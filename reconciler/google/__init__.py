"""The Google side: credentials and client, fetching the actual State, write operations."""
