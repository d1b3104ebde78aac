"""Jobs: runs of a pipeline over a parameter grid or on a cron schedule, each on its own copy
of a snapshot of the project."""
