"""What every layer stands on and none of it is the domain: files only their owner
may read, all-or-nothing SQLite transactions, and the command lines' shared plumbing.

Imports nothing of the project's; everything else may import it.
"""
