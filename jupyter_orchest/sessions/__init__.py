"""Sessions, as in Orchest: a pipeline's interactive session owns the executor of its
interactive runs (with warm kernels in the environments its steps use) and its services; a
run that is not interactive (a job's, one from the command line) has a session of its own
for its services. Stopping a session stops every process and container it started.

- `service`: the interactive sessions of the server, one per pipeline file;
- `session`: one interactive session's life, launching and stopping;
- `run_session`: a run's own session;
- `executor`: what a session's runs run with;
- `service_group`: the services of one session; `ports`: the ports they take without Docker;
- `definitions`: the pipeline's `services`, read and checked;
- `processes`, `containers`: services as processes (no Docker) or containers (Docker);
- `running`: what both kinds share; `model`: what the API and the events show.

Nothing is imported here, so that reading a pipeline's services (`definitions`) costs the
command line nothing more.
"""
