"""The change runner: the one place where shine-ops changes an account.

Fixes (``fix alb-ecs``, ``fix tortoise``), rolling deploys and blue-green deploys are strategies: they decide
which changes to make and emit them, one ``Change`` at a time, to a ``Run`` of the ``ChangeRunner``. The runner
mints the apply and change ids (``ids``), journals each change as an intent before its call and completes it
after (``shine_ops.fixes.journal``), hands back a typed reference to what was made (``Done``), verifies, and
undoes by replaying the inverses it journaled, newest first (``ChangeRunner.rollback``). A run interrupted
between a call and its journal row is settled from the live state on the next start (``reconcile``).
"""

from shine_ops.changes.refs import Done, FailedCall
from shine_ops.changes.runner import ChangeRunner, Run

__all__ = ["ChangeRunner", "Done", "FailedCall", "Run"]
