"""The embedded sandbox: a moto server in a background process, seeded with a scenario through the AWS API.

Scaffolding the sandbox adds because moto's ECS and ELBv2 are inert (they start no task and health-check nothing):
- target health is computed from the configuration (security groups, ports, health path) and marked
  ``[simulated]`` in its description, so reports say which values were emulated;
- services are created with ``MOTO_ECS_SERVICE_RUNNING`` set to the scenario's running count;
- tasks are started with ``run_task`` and frozen (moto would otherwise stop them after four describes);
- task addresses are registered in the service's target groups, as ECS would.
- a service's ``stopped_tasks`` are run and stopped with their reason through the API; their exit codes,
  container reasons and stop codes, and the service's ``events``, cannot be set through the API, so
  ``daemon.after_seed`` writes them into moto's in-process state (the e2e ``scenario_server`` does too).
"""
