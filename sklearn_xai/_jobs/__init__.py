"""The command-line jobs: demo, explain and benchmark (private)."""
