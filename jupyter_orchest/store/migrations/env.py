"""Alembic's entry point: the migrations run on the connection that `store.migrate` hands
over, inside its transaction."""

from alembic import context

context.configure(
    connection=context.config.attributes["connection"],
    # SQLite alters most tables only by copying them: Alembic's batch mode does that.
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
