"""Backups, one format written and read: the tar's layout, the service that runs and keeps them,
the tar writer, the mongodump archive and the restore."""
