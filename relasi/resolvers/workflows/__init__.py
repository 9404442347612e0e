"""Workflows: "when this happens, and these conditions hold, do that" (README: Workflows).

- `definitions`: saving, versioning, enabling and deleting workflows (the stored form);
- `triggers`: what starts a workflow, checked on save, and matching change-log events;
- `actions`: what a workflow does, checked on save (conditions too); `fields`: what
  `updateRecord` may set;
- `templates`: `{{deal.owner.email}}` in action inputs, checked on save, rendered per run;
- `matching`: change log -> runs, per workspace, with a cursor (like the webhooks' fan-out);
- `engine`: starting, executing (one transaction per step), suspending and resuming runs;
  `slots`: a workspace's runs executing at once (leases on run rows), and a run's job;
- `steps`: each action kind executed through the resolvers the GraphQL mutations use;
- `run_state`: a run's steps done, a step's row, the run's end; `summary`: its timeline entry;
- `tasks_bridge`: the createTask action on the tasks domain;
- `runs`: reading runs, their steps and a workflow's stats; `dry_run`: testWorkflow;
- `background`: the jobs that run it all (relasi/jobs/);
- time (README: Workflows on the clock): `clock`, the periodic tick that starts time-based
  runs; `schedules`, cron in a time zone; `moments`, relative-time and SLA moments due in a
  window; `waits`, continuing waiting runs; `conditions`, a condition compiled for many records.
"""
