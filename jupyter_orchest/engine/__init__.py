"""The run engine: plans which steps run, runs them through an executor, reports to observers."""
