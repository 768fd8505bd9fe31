"""Blue-green deploys: a green service on the new revision behind a green target group, listener traffic
shifted to it with weighted forwarding in gated steps, blue kept (weight 0) until ``--finalize``.

Why this shape: a rolling deploy replaces the only copy of the service, so a bad revision is live before its
gates run and the way back is another rollout. Here blue keeps running untouched: a failed gate is undone by
putting the listener actions back exactly as they were (one call per listener or rule, instant), and green
is removed. Every mutating call is a change emitted to the change runner (``shine_ops.changes``), journaled as a
``deploy`` change with its inverse, so ``history`` shows it and ``rollback APPLY_ID`` reverts a landed (not
finalized) deploy: listeners back, green deleted. Shifting back after a failed gate, and the abort after an
unexpected error, are rollbacks of what the deploy did: the runner replays those inverses.

Names: the green service is ``<service>-green``; when the current service already ends with ``-green`` it is
``<stem>-blue`` (and ``-blue`` alternates back to ``-green``), so consecutive deploys never clash. The green
target group is ``<blue target group name, trimmed>-g<revision>`` (at most 32 characters).

A target in a target group no listener uses is ``unused`` on AWS (no health checks run), so green is first
attached to every forward at weight 0; then its targets are health-checked while blue still takes all the
traffic.

Modules: ``names`` (the green service and target group), ``forwards`` (the listener actions that carry the
traffic, and their weighted forms), ``green`` (the green copies and watching them become steady), ``direct``
(the smoke gates straight against green), ``shift`` (the deploy: create, attach, shift in gated steps, shift
back), ``finalize`` (green alone, blue deleted).
"""
