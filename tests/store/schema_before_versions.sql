-- The schema of a database made before the schema had versions, exactly as SQLite kept it
-- (`SELECT sql FROM sqlite_master` of a database that the server then made). Frozen:
-- the migration tests open a database made from it.
CREATE TABLE runs (
	id VARCHAR(64) NOT NULL, 
	pipeline_uuid VARCHAR(255) NOT NULL, 
	pipeline_path TEXT NOT NULL, 
	project_dir TEXT NOT NULL, 
	run_type VARCHAR(16) NOT NULL, 
	selection JSON NOT NULL, 
	parameters JSON NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	message TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_runs_state ON runs (state);
CREATE INDEX ix_runs_pipeline_uuid ON runs (pipeline_uuid);
CREATE TABLE environment_builds (
	id INTEGER NOT NULL, 
	project_dir TEXT NOT NULL, 
	environment_uuid VARCHAR(255) NOT NULL, 
	number INTEGER NOT NULL, 
	backend VARCHAR(16) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	reference TEXT NOT NULL, 
	fingerprint VARCHAR(128) NOT NULL, 
	inputs_hash VARCHAR(64) NOT NULL, 
	message TEXT NOT NULL, 
	owner VARCHAR(255) NOT NULL, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, 
	removed_at DATETIME, 
	PRIMARY KEY (id), 
	UNIQUE (project_dir, environment_uuid, number)
);
CREATE INDEX ix_environment_builds_project_dir ON environment_builds (project_dir);
CREATE INDEX ix_environment_builds_state ON environment_builds (state);
CREATE TABLE jobs (
	id VARCHAR(64) NOT NULL, 
	name TEXT NOT NULL, 
	pipeline_uuid VARCHAR(255) NOT NULL, 
	pipeline_path TEXT NOT NULL, 
	project_dir TEXT NOT NULL, 
	folder TEXT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	message TEXT NOT NULL, 
	grid JSON NOT NULL, 
	cron VARCHAR(255), 
	timezone VARCHAR(64) NOT NULL, 
	start_at DATETIME, 
	next_fire_at DATETIME, 
	env_variables JSON NOT NULL, 
	max_retained_runs INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_jobs_pipeline_uuid ON jobs (pipeline_uuid);
CREATE INDEX ix_jobs_status ON jobs (status);
CREATE TABLE step_provenance (
	run_id VARCHAR(64) NOT NULL, 
	step_uuid VARCHAR(255) NOT NULL, 
	pipeline_uuid VARCHAR(255) NOT NULL, 
	title TEXT NOT NULL, 
	"key" VARCHAR(64) NOT NULL, 
	parts JSON NOT NULL, 
	inputs JSON NOT NULL, 
	outputs JSON NOT NULL, 
	outputs_digest VARCHAR(64) NOT NULL, 
	notebook_digest VARCHAR(64) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	message TEXT NOT NULL, 
	cached BOOLEAN NOT NULL, 
	source_run_id VARCHAR(64) NOT NULL, 
	reasons JSON NOT NULL, 
	environment_uuid VARCHAR(255) NOT NULL, 
	executor VARCHAR(255) NOT NULL, 
	host VARCHAR(255) NOT NULL, 
	git_commit VARCHAR(64) NOT NULL, 
	project_dir TEXT NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME NOT NULL, 
	PRIMARY KEY (run_id, step_uuid)
);
CREATE INDEX ix_step_provenance_finished_at ON step_provenance (finished_at);
CREATE INDEX ix_step_provenance_pipeline_uuid ON step_provenance (pipeline_uuid);
CREATE INDEX ix_step_provenance_key ON step_provenance ("key");
CREATE TABLE step_executions (
	id INTEGER NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	step_uuid VARCHAR(255) NOT NULL, 
	title TEXT NOT NULL, 
	at DATETIME NOT NULL, 
	stdout TEXT NOT NULL, 
	stderr TEXT NOT NULL, 
	traceback TEXT NOT NULL, 
	error TEXT NOT NULL, 
	success BOOLEAN NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_step_executions_run_id ON step_executions (run_id);
CREATE TABLE step_runs (
	run_id VARCHAR(64) NOT NULL, 
	step_uuid VARCHAR(255) NOT NULL, 
	position INTEGER NOT NULL, 
	title TEXT NOT NULL, 
	file_path TEXT NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	message TEXT NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, 
	log_path TEXT NOT NULL, 
	PRIMARY KEY (run_id, step_uuid), 
	FOREIGN KEY(run_id) REFERENCES runs (id)
);
CREATE TABLE job_runs (
	run_id VARCHAR(64) NOT NULL, 
	job_id VARCHAR(64) NOT NULL, 
	number INTEGER NOT NULL, 
	slot DATETIME, 
	folder TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (run_id), 
	UNIQUE (job_id, slot, number), 
	FOREIGN KEY(run_id) REFERENCES runs (id), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);
CREATE INDEX ix_job_runs_job_id ON job_runs (job_id);
